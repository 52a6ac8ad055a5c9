"""What the mocked AWS answers, shared by the mocks set-up and the tests that check against it.

A module of its own because test modules must not import conftest.py (a second import would set
up a second mocks runtime).
"""

from __future__ import annotations

import json

#: One account, and more zones than any stack asks for, so that the program's own choice of
#: zones is what the tests see.
ACCOUNT_ID = "123456789012"
MOCK_ZONES = ("us-east-1d", "us-east-1a", "us-east-1c", "us-east-1b")

#: The cluster outputs the program uses. pulumi-eks components are remote: under mocks every
#: output the mock does not return is None, which would silently build "None:sub" policies.
OIDC_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
OIDC_PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{OIDC_ISSUER}"
KUBECONFIG = json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [], "users": []})
