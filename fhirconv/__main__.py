from fhirconv.cli import main

raise SystemExit(main())
