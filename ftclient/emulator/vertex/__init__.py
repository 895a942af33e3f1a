"""The Google Vertex AI dialect: Cloud Storage's JSON API and the aiplatform v1 API on one port.

Cloud Storage (``/storage/v1``, ``/upload/storage/v1``, ``/download/storage/v1``): media, multipart and
resumable uploads, object metadata, downloads and listings, as google-cloud-storage calls them. aiplatform
(``/v1/projects/{p}/locations/{l}/...``): tuning jobs (create, get, list, cancel, as google-genai calls them),
the tuned model, which lands on an endpoint of its own when its job succeeds, endpoints (get, list,
undeployModel, delete) and ``generateContent`` on an endpoint, answered by the honest learner. No Google
credentials are needed: any or no ``Authorization`` header is accepted.
"""
