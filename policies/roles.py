"""Administrative roles, decided by Casbin like data access (policies/admin_model.conf and
policies/admin_policy.csv): may an application of role R run operation O?

    PLATFORM_ADMIN   the sharing platform: checks, forwards, consolidates; the calendar
    POLICY_ADMIN     policy versions: create, validate, dry-run, activate, roll back
    PROVIDER_ADMIN   a provider's data officer (数据专员): decides applications, changes its grants
    AUDITOR          reads the audit trail, the applications and the policy
    CONSUMER         a department's system: applies for data, explains its own decisions

Scope within a role (a provider decides only its own resources, a consumer changes only its
own applications) is the operation's own rule, in workflow/service.py and the admin operations.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import casbin
from casbin import model as casbin_model

MODEL_PATH = Path(__file__).with_name("admin_model.conf")
POLICY_PATH = Path(__file__).with_name("admin_policy.csv")
ROLES = ("CONSUMER", "PLATFORM_ADMIN", "POLICY_ADMIN", "PROVIDER_ADMIN", "AUDITOR")


@cache
def _enforcer() -> casbin.Enforcer:
    model = casbin_model.Model()
    model.load_model_from_text(MODEL_PATH.read_text(encoding="utf-8"))
    enforcer = casbin.Enforcer(model)
    for line in POLICY_PATH.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split(",")]
        if cells[0] == "p" and len(cells) == 3:
            enforcer.add_policy(cells[1], cells[2])
    return enforcer


@cache
def may(role: str, operation: str) -> bool:
    """Decided once per (role, operation): the role policy ships with the gateway and does not
    change while it runs, and Casbin parses its matcher on every call (on the path of every
    data request, `data.read`)."""
    return bool(_enforcer().enforce(role, operation))
