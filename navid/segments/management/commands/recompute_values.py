"""`navid manage recompute_values`: recompute every customer's ranking, value and lifecycle now."""

from typing import Any

from django.core.management.base import BaseCommand

from navid.segments.value_services import values_recompute


class Command(BaseCommand):
    help = (
        "Recompute score, priority, RFM, actual and potential value, lifecycle and loyalty of every customer."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = values_recompute()
        self.stdout.write(f"{report.customers} customers in {report.seconds:.1f} s (run {report.run_id})")
        self.stdout.write(
            "phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.phases.items())
        )
        self.stdout.write("priority: " + ", ".join(f"{k} {v}" for k, v in report.priorities.items()))
        self.stdout.write("lifecycle: " + ", ".join(f"{k} {v}" for k, v in report.lifecycles.items()))
        if report.bg_nbd:
            self.stdout.write("BG/NBD: " + ", ".join(f"{k}={v:.4g}" for k, v in report.bg_nbd.items()))
        if report.gamma_gamma:
            self.stdout.write(
                "Gamma-Gamma: " + ", ".join(f"{k}={v:.4g}" for k, v in report.gamma_gamma.items())
            )
        for error in report.fit_errors:
            self.stderr.write(f"fit failed: {error}")
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
