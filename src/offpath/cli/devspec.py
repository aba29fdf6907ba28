"""`offpath devspec`: check the `[pci]` device specs and aliases of a nova.conf."""

from __future__ import annotations

import typer

from offpath.cli.elision import elide
from offpath.cli.options import AsJson, ConfigFiles, SysfsRoot
from offpath.cli.output import print_json
from offpath.config import PciConfig, load_pci_config
from offpath.errors import InvalidInput
from offpath.pci.section_check import SectionReport, check_pci_section
from offpath.pci.sysfs import DEFAULT_SYSFS_ROOT

app = typer.Typer(no_args_is_help=True)


@app.callback()
def devspec() -> None:
    """Check [pci] device_spec and alias entries."""


def print_text(report: SectionReport, config: PciConfig) -> None:
    """One line per spec and alias, normalised, or its error with file:line."""
    for spec in report.specs:
        typer.echo(f"spec #{spec.index} ok: {spec.describe()}")
    for alias in report.aliases:
        typer.echo(f"alias {alias.name!r} ok: {alias.describe()}")
    for problem in report.problems:
        what = "spec" if problem.option == "device_spec" else "alias"
        typer.echo(
            f"{what} #{problem.index} error [{problem.error.code}] at "
            f"{config.locate(problem.raw)}: {elide(problem.error.message)}"
        )
        if problem.error.hint:
            typer.echo(f"    hint: {elide(problem.error.hint)}")
    for note in config.notes:
        typer.echo(f"note: {note}")
    if not report.specs and not report.problems:
        typer.echo("no [pci] device_spec is configured: no device is assignable")
    typer.echo(
        f"{len(report.specs)} spec(s) and {len(report.aliases)} alias(es) valid, "
        f"{len(report.problems)} error(s)"
    )


@app.command("check")
def check(
    config_file: ConfigFiles,
    sysfs_root: SysfsRoot = DEFAULT_SYSFS_ROOT,
    as_json: AsJson = False,
) -> None:
    """Check every [pci] device_spec and alias. Exit 2 (invalid input) if one is invalid."""
    config = load_pci_config(config_file)
    if not (sysfs_root / "bus" / "pci" / "devices").is_dir():
        # Without a PCI tree no address is a PF and no devname resolves; say
        # so, or a PF-prohibition check that could not run would look passed.
        typer.echo(
            f"note: {sysfs_root} has no bus/pci/devices: PF detection and devname lookup "
            "see no devices",
            err=True,
        )
    report = check_pci_section(
        config.device_spec,
        config.alias,
        sysfs_root=sysfs_root,
        report_in_placement=config.report_in_placement,
    )
    if as_json:
        print_json(report.as_json(locate=config.locate, notes=config.notes))
    else:
        print_text(report, config)
    raise typer.Exit(0 if report.ok else InvalidInput.exit_code)
