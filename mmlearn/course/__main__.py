"""Run the whole course headless, or write the students' copies of the notebooks.

    python -m mmlearn.course run [NOTEBOOK ...] [--profile ci|default|full] [--lecture]
        Execute every notebook (or the ones named) with nbclient, measure its wall time and the peak
        memory of its kernel process tree, gather the metrics it recorded (mmlearn.course.report.record)
        and print one table; also written to results/course_report.md and .json. Every run trains
        (a private, empty lecture cache); --lecture uses and fills the lecture cache as `make lab` does
        (mmlearn.lecture), e.g. to time a lecture's second run.
    python -m mmlearn.course student OUT/ [NOTEBOOK ...]
        Write student copies: every block between `### BEGIN SOLUTION` and `### END SOLUTION` becomes
        `raise NotImplementedError("Exercise NN.k: ...")`, and all outputs are cleared.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..core import PROFILES
from . import report
from .run import run_course
from .student import write_student_copies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmlearn.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebooks and print the course report")
    run.add_argument("notebooks", nargs="*", help="which notebooks (default: all), e.g. 00 or 01_retrieval")
    run.add_argument("--profile", choices=PROFILES, help="budget profile (default: $MMLEARN_PROFILE or 'default')")
    run.add_argument("--out", type=Path, default=None, help="results folder (default: results/)")
    run.add_argument("--lecture", action="store_true",
                     help="load what an earlier run trained (lecture mode) instead of always training")
    student = sub.add_parser("student", help="write student copies of the notebooks")
    student.add_argument("out", type=Path, help="folder for the student notebooks")
    student.add_argument("notebooks", nargs="*", help="which notebooks (default: all)")
    args = parser.parse_args(argv)

    if args.command == "student":
        write_student_copies(args.out, args.notebooks)
        return 0
    if args.profile:   # this process's profile too: the report's heading and the budget check read it
        os.environ["MMLEARN_PROFILE"] = args.profile
    private = None if args.lecture else tempfile.mkdtemp(prefix="mmlearn-lecture-")
    env = {} if private is None else {"MMLEARN_LECTURE_CACHE": private, "MMLEARN_RETRAIN": "1"}   # train every time
    try:
        runs = run_course(args.notebooks, (args.out or report.results_dir()).resolve(), env)
    finally:
        if private:
            shutil.rmtree(private, ignore_errors=True)
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
