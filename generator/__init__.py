"""scaffold: turn a trained PyTorch model into ready-to-open Android and iOS app projects."""

__version__ = "0.1.0"

from generator.project import check_project, doctor, export_model, inspect_model, new_project  # noqa: E402

__all__ = ["__version__", "new_project", "export_model", "inspect_model", "doctor", "check_project"]
