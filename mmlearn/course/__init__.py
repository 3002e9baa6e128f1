"""The course machinery, on top of the lessons: it runs, reports on and publishes the notebooks.

    run.py        run_course / run_notebook: each notebook in a fresh kernel, timed, its memory measured
    report.py     record(metrics, bars): the last cell of every notebook (`from mmlearn import report`)
    student.py    the students' copies: solutions replaced by NotImplementedError
    offline.py    the guard that keeps tests and the kernels under test off the network
    site.py       the offline course site, from the executed notebooks (site_template/)
    __main__.py   python -m mmlearn.course run | student
"""
