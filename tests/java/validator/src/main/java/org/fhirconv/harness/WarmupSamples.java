package org.fhirconv.harness;

import java.util.List;

/** Small resources validated once at start-up so that the first real file is not slower than the rest. */
final class WarmupSamples {

    private WarmupSamples() {
    }

    static final String PATIENT_JSON = """
            {
              "resourceType": "Patient",
              "id": "warmup-patient",
              "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"}],
              "name": [{"family": "Chalmers", "given": ["Peter"]}],
              "gender": "male",
              "birthDate": "1974-12-25"
            }
            """;

    static final String BUNDLE_JSON = """
            {
              "resourceType": "Bundle",
              "type": "transaction",
              "entry": [
                {
                  "fullUrl": "urn:uuid:0b7c2f2e-6a8e-4f55-9a3b-1f0f8f1c0a01",
                  "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "Doe", "given": ["Jane"]}],
                    "gender": "female"
                  },
                  "request": {"method": "POST", "url": "Patient"}
                },
                {
                  "fullUrl": "urn:uuid:0b7c2f2e-6a8e-4f55-9a3b-1f0f8f1c0a02",
                  "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                               "code": "laboratory"}]}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7",
                                         "display": "Hemoglobin [Mass/volume] in Blood"}]},
                    "subject": {"reference": "urn:uuid:0b7c2f2e-6a8e-4f55-9a3b-1f0f8f1c0a01"},
                    "effectiveDateTime": "2024-01-02T10:00:00Z",
                    "valueQuantity": {"value": 13.2, "unit": "g/dL", "system": "http://unitsofmeasure.org",
                                      "code": "g/dL"}
                  },
                  "request": {"method": "POST", "url": "Observation"}
                },
                {
                  "fullUrl": "urn:uuid:0b7c2f2e-6a8e-4f55-9a3b-1f0f8f1c0a03",
                  "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                   "code": "active"}]},
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}],
                             "text": "Hypertension"},
                    "subject": {"reference": "urn:uuid:0b7c2f2e-6a8e-4f55-9a3b-1f0f8f1c0a01"}
                  },
                  "request": {"method": "POST", "url": "Condition"}
                }
              ]
            }
            """;

    static final String PATIENT_XML = """
            <Patient xmlns="http://hl7.org/fhir">
              <id value="warmup-patient-xml"/>
              <name><family value="Chalmers"/><given value="Peter"/></name>
              <gender value="male"/>
              <birthDate value="1974-12-25"/>
            </Patient>
            """;

    static final List<String> ALL = List.of(PATIENT_JSON, BUNDLE_JSON, PATIENT_XML);
}
