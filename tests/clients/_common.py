"""Shared helpers of the client tests: the config the Rust e2e test passes as argv[1], the
seed examples, and a recursive key/type/nesting comparison (the same rules as the Rust
comparator in crates/offerline/tests/e2e/ledger.rs)."""
import json
import os
import sys

NULLABLE_STRINGS = {"retail_price", "end_datetime", "start_datetime", "voucher_code", "code", "barcode", "type",
                    "productization_date"}


FREE_MAPS = {"attributes", "attributes_kwargs", "extra_attributes"}


def config():
    if len(sys.argv) < 2:
        sys.exit("usage: script.py '<json config>' (base_url, credentials, fixture ids)")
    return json.loads(sys.argv[1])


def seed(cfg, name):
    with open(os.path.join(cfg["seeds_dir"], name), encoding="utf-8") as f:
        return json.load(f)


def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


# Keys the contract adds to the seed views (section 8: a discount item's cancel_amount).
ALLOWED_EXTRA = {"cancel_amount"}


def shape(seed_v, ours, path="$", errors=None):
    errors = [] if errors is None else errors
    key = path.rsplit(".", 1)[-1]
    if isinstance(seed_v, dict) and isinstance(ours, dict) and key in FREE_MAPS:
        # Attribute maps hold data keyed by attribute name: compare values only.
        if seed_v:
            first = next(iter(seed_v.values()))
            for k, v in ours.items():
                shape(first, v, f"{path}[{k!r}]", errors)
    elif isinstance(seed_v, dict) and isinstance(ours, dict):
        for k in seed_v:
            if k not in ours:
                errors.append(f"{path}: missing key {k!r}")
            else:
                shape(seed_v[k], ours[k], f"{path}.{k}", errors)
        for k in ours:
            if k not in seed_v and k not in ALLOWED_EXTRA:
                errors.append(f"{path}: extra key {k!r}")
    elif isinstance(seed_v, list) and isinstance(ours, list):
        if seed_v:
            for i, item in enumerate(ours):
                shape(seed_v[0], item, f"{path}[{i}]", errors)
    elif seed_v is None and kind(ours) in ("null", "string", "number", "bool"):
        pass
    elif isinstance(seed_v, str) and ours is None and key in NULLABLE_STRINGS:
        pass
    elif kind(seed_v) != kind(ours):
        errors.append(f"{path}: seed has {kind(seed_v)}, we give {kind(ours)} ({ours!r})")
    return errors


def check(cond, msg):
    if not cond:
        print(f"MISMATCH: {msg}", file=sys.stderr)
        sys.exit(1)


def check_shape(seed_v, ours, what):
    errors = shape(seed_v, ours, what)
    check(not errors, f"{what} differs from the seed:\n" + "\n".join(errors))
