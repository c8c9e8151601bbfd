"""`gateway policy …` on a copy of the demo: export, import, check, activate, explain, roll back."""

from __future__ import annotations

from pathlib import Path

from tests.support import cli_refused, cli_succeeded

ADMIN = ("--as", "sj-policy-admin", "--operator", "sj-wutao")
LINE = "p, dept:SCJG, Enterprise.taxPaid, QUERY, MARKET_SUPERVISION, MASKED, 2000-01-01, 2999-12-31, admin:scjg-tax\n"


def test_export_edit_import_check_activate_and_roll_back(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "policy"
    assert "stored version 1" in cli_succeeded(data_dir, "policy", "export", *ADMIN, "--out", str(out))
    assert (out / "model.conf").read_text(encoding="utf-8").startswith("# The shipped Casbin model")
    assert "grant:G-MZ-0001" in (out / "policy.csv").read_text(encoding="utf-8")
    with (out / "policy.csv").open("a", encoding="utf-8") as csv:
        csv.write(LINE)
    imported = cli_succeeded(data_dir, "policy", "import", *ADMIN, "--model", str(out / "model.conf"), "--policy",
                             str(out / "policy.csv"), "--tests", str(out / "tests.toml"), "--note", "SCJG 纳税区间")
    assert imported.startswith("version 2 stored (DRAFT)")
    checked = cli_succeeded(data_dir, "policy", "check", "2", *ADMIN)
    assert "gains\tscjg-licensing\tMARKET_SUPERVISION\tEnterprise.taxPaid\tQUERY\tDENIED → MASKED" in checked
    assert "+p, dept:SCJG, Enterprise.taxPaid" in cli_succeeded(data_dir, "policy", "diff", "1", "2", *ADMIN)
    assert cli_succeeded(data_dir, "policy", "activate", "2", *ADMIN) == "version 2 is in force\n"
    explained = cli_succeeded(data_dir, "policy", "explain", "scjg-licensing", "MARKET_SUPERVISION", "Enterprise.taxPaid",
                              *ADMIN)
    assert explained.startswith("Enterprise.taxPaid: MASKED") and "decided by: admin:scjg-tax" in explained
    assert cli_succeeded(data_dir, "policy", "rollback", *ADMIN) == "version 1 is in force again\n"
    assert cli_succeeded(data_dir, "policy", "versions", *ADMIN).splitlines()[0].startswith("2\tRETIRED")


def test_refusals_name_every_reason_and_change_nothing(data_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.conf"
    model.write_text("[request_definition]\nr = sub\n", encoding="utf-8")
    lines = tmp_path / "policy.csv"
    lines.write_text("p, *, Person.religion, QUERY, *, RAW, 2000-01-01, 2999-12-31, admin:x\n", encoding="utf-8")
    refused = cli_refused(data_dir, "policy", "import", *ADMIN, "--model", str(model), "--policy", str(lines),
                          "--note", "x")
    assert "POLICY_INVALID" in refused and "NOT_SHARED" in refused
    forbidden = cli_refused(data_dir, "policy", "activate", "1", "--as", "scjg-licensing", "--operator", "scjg-sunwei")
    assert "FORBIDDEN" in forbidden
    assert "INVALID_TRANSITION" in cli_refused(data_dir, "policy", "activate", "1", *ADMIN)  # in force already
    assert "INVALID_TRANSITION" in cli_refused(data_dir, "policy", "rollback", *ADMIN)  # nothing before it
    assert cli_succeeded(data_dir, "policy", "versions", *ADMIN).splitlines() == [
        line for line in cli_succeeded(data_dir, "policy", "versions", *ADMIN).splitlines() if line.startswith("1\t")]
