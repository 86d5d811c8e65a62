"""The FHIR REST side: a client with timeouts, retries and auth, and pushing bundles to a server."""

from fhirconv.server.auth import Credentials
from fhirconv.server.client import FhirClient, Timeouts
from fhirconv.server.push import PushReport, dry_run, push_bundle, verify
from fhirconv.server.retry import RetryPolicy

__all__ = ["Credentials", "FhirClient", "PushReport", "RetryPolicy", "Timeouts", "dry_run", "push_bundle", "verify"]
