# mmlearn — the two commands:  make lab  (run the course)   make test  (test it)
#
# Both create .venv on first use and install the package with its dev extra; the install is
# redone only when pyproject.toml changes (the stamp file below is older than it).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.mmlearn-installed
SITE_STAMP := $(VENV)/.mmlearn-site-installed

.PHONY: lab test course student site site-test lab-test setup clean

# Jupyter refuses to run as root unless told; containers often are root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

# Kernels talk to JupyterLab over Unix sockets in a private folder (ZeroMQ's IPC transport), not TCP ports:
# the kernels open no TCP ports, and ipykernel has no cause to warn about unencrypted TCP.
lab: $(STAMP)  ## open JupyterLab on the notebooks
	@sockets=$$(mktemp -d "$${TMPDIR:-/tmp}/mmlearn-kernels.XXXXXX") && \
	$(BIN)/jupyter lab $(LAB_ARGS) --KernelManager.transport=ipc --KernelManager.ip="$$sockets/kernel" notebooks/; \
	status=$$?; rm -rf "$$sockets"; exit $$status

test: $(STAMP)  ## unit tests + every notebook (nbval), in one pytest run
	$(BIN)/python -m pytest

course: $(STAMP)  ## execute every notebook headless and print the course report
	$(BIN)/python -m mmlearn.course run

student: $(STAMP)  ## write student copies of the notebooks (solutions removed) to student/
	$(BIN)/python -m mmlearn.course student student/

site: $(STAMP)  ## the offline course site, site/index.html, from the notebooks `make course` executed
	$(BIN)/python -m mmlearn.course.site

site-test: site $(SITE_STAMP)  ## open the site in headless Chromium (Debian's chromium package): requests, formulas, players
	$(BIN)/python -m pytest browser_tests/test_site.py

lab-test: $(SITE_STAMP)  ## the notebooks `make course` executed, handed to a new JupyterLab user in headless Chromium: trust, players, restart
	$(BIN)/python -m pytest browser_tests/test_lab.py

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), f"mmlearn needs Python >= 3.10; $(PYTHON) is {sys.version.split()[0]} (try: make PYTHON=python3.11 ...)"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name mmlearn --display-name "Python (mmlearn)"
	@touch $@

$(SITE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,site]"
	@touch $@

clean:  ## remove the virtual environment, results and the site
	rm -rf $(VENV) results student site
