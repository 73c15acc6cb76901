"""Projects: a folder per run that survives crashes, reopens where it stopped and exports
its results (see docs/projects.md). No Qt here."""

from app.engine.answers_db import read_answers
from app.engine.faults import DiskFullError, ProjectError, ProjectLockedError, ReadOnlyError
from app.engine.project.project import Project

__all__ = ["DiskFullError", "Project", "ProjectError", "ProjectLockedError", "ReadOnlyError", "read_answers"]
