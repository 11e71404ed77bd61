"""Schema fuzzing: schemathesis against the server's own /openapi.json, every operation.

Run by crates/offerline/tests/e2e/schema_fuzz.rs with one JSON argument:
  {"base_url", "staff_token", "customer_token", "client_id", "client_secret",
   "max_examples", "seed", "report_dir"}

Each operation gets the credentials its `security` names: `token` alone is a staff route
(Omnitron, promotions, OMS) and gets the staff token; `token` or `session` is a storefront
route and gets the customer token; `bearer` is an Elastic Path route and gets a
client-credentials access token. Public operations are sent without credentials.

The checks are schemathesis' own: no 5xx, status codes the document lists, content types and
bodies that match the documented response schemas, the negative-data check (a request that
breaks the schema must get a 4xx) and the positive-data check (a request the schema allows
must not get a 400; schemathesis.toml names the operations it is off for, and why). A body
of white space alone is not sent as invalid data: the server reads it as no body. The script exits non-zero when any check fails, so
the e2e test fails with schemathesis' report in its output.
"""

import json
import os
import sys

import requests
import schemathesis
from schemathesis.cli import schemathesis as cli

config = json.loads(sys.argv[1])
base = config["base_url"].rstrip("/")

resp = requests.post(
    f"{base}/oauth/access_token",
    data={
        "grant_type": "client_credentials",
        "client_id": config["client_id"],
        "client_secret": config["client_secret"],
    },
    timeout=30,
)
resp.raise_for_status()
BEARER = resp.json()["access_token"]
STAFF = config["staff_token"]
CUSTOMER = config["customer_token"]


def credentials(operation):
    """The Authorization header value an operation needs, or None for a public one."""
    security = operation.definition.raw.get("security") or []
    schemes = {name for requirement in security for name in requirement}
    if "bearer" in schemes:
        return f"Bearer {BEARER}"
    if "session" in schemes:
        return f"Token {CUSTOMER}"
    if "token" in schemes:
        return f"Token {STAFF}"
    return None


@schemathesis.auth(refresh_interval=None)
class PerOperationAuth:
    """Staff, customer or client credentials, chosen from the operation's `security`."""

    def get(self, case, context):
        return credentials(context.operation)

    def set(self, case, data, context):
        if data is None:
            return
        case.headers = case.headers or {}
        # A generated Authorization header (the negative tests make some) is replaced:
        # the fuzzing is about bodies, paths and queries, not about credentials.
        case.headers["Authorization"] = data


@schemathesis.hook
def filter_body(ctx, body):
    """No body of white space alone. The server reads one as no body, `{}` (clients send
    `Content-Type: application/json` with an empty body), which a body with no required field
    rightly accepts; the negative phase's "random bytes" that happen to be only white space are
    therefore not a schema-violating request the server must refuse."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    # The server's white space (Rust's `u8::is_ascii_whitespace`): no vertical tab.
    return not (isinstance(body, bytes) and not body.strip(b" \t\n\x0c\r"))


args = [
    "--config-file",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemathesis.toml"),
    "run",
    f"{base}/openapi.json",
    "--url",
    base,
    # Every check is on by default (tests/clients/schemathesis.toml turns
    # positive_data_acceptance off for the operations it names); `--checks all` would override
    # those per-operation settings, and add a response-time limit.
    "--max-examples",
    str(config.get("max_examples", 10)),
    # One worker: hypothesis' lambda-source cache is not thread-safe under Python 3.11
    # ("AST constructor recursion depth mismatch" runtime errors with two).
    "--workers",
    "1",
    "--request-timeout",
    "30",
    "--suppress-health-check",
    "all",
]
if config.get("seed") is not None:
    args += ["--seed", str(config["seed"])]
if config.get("report_dir"):
    args += ["--report", "junit", "--report-dir", config["report_dir"]]
args += config.get("extra_args", [])

try:
    cli.main(args=args, prog_name="schemathesis", standalone_mode=True)
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    if code == 0:
        print("schema_fuzz OK")
    sys.exit(code)
