# Single entry point of the project. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# Rasa 3.6 needs Python 3.10: pyenv's versions/3.10.*, else python3.10 on PATH.
PYENV_ROOT ?= $(or $(shell pyenv root 2>/dev/null),$(HOME)/.pyenv)
PYTHON310 := $(or $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.10.*/bin/python))),$(shell command -v python3.10 2>/dev/null))
MODEL := models/sct-assistant.tar.gz
TRAIN_INPUTS := config.yml domain.yml vn_nlu/components.py vn_nlu/lexicon.py $(shell find nlu_data vn_nlu/data -type f -name "*.yml" 2>/dev/null)
DOSSIER_DB ?= var/dossiers.sqlite3
# Code is imported from this tree first (a git worktree may share another checkout's .venv).
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: help install system-deps bench-deps model seed run test unit validate eval-nlu eval-conversations eval-blind eval-blind3 eval-blind4 eval-blind5 eval-blind6 eval-blind7 eval-blind8 eval-blind9 eval-blind10 eval-heldout eval-heldout3 eval-faq bench-nlu bench-sms bench-chat compare-nlu lint clean

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@if [ -z "$(PYTHON310)" ]; then echo "Python 3.10 not found: Rasa 3.6 needs it; install it with 'pyenv install 3.10' or put python3.10 on PATH."; exit 1; fi
	@echo "==> Creating $(VENV) with $(PYTHON310) and installing pinned dependencies (first time: a few minutes)"
	$(PYTHON310) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

system-deps: ## Install Debian's redis-server and chromium (browser tests) where missing
	@missing=""; command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then echo "==> Installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@command -v node >/dev/null || { echo "Node.js is needed for the SMPP test server (node-smpp): install nodejs and npm."; exit 1; }

node_modules/.installed: package.json package-lock.json
	@echo "==> Installing the npm packages (node-smpp SMSC simulator)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(BIN)/.installed system-deps node_modules/.installed ## Create .venv and install every dependency

$(MODEL): $(BIN)/.installed $(TRAIN_INPUTS)
	@echo "==> Training the Rasa model (NLU data, config or domain changed)"
	@mkdir -p models var
	@start=$$(date +%s); \
	$(BIN)/rasa train --data nlu_data --config config.yml --domain domain.yml \
		--out models --fixed-model-name sct-assistant > var/train.log 2>&1 \
		|| { tail -40 var/train.log; exit 1; }; \
	echo "==> Model trained in $$(( $$(date +%s) - start )) s (log: var/train.log)"

model: $(MODEL) ## Train the model if its inputs changed

seed: $(BIN)/.installed ## (Re)seed the reference dossier database
	$(BIN)/python -m dossier_api.seed --db $(DOSSIER_DB)

run: install model ## Start the whole stack locally (Ctrl-C stops it)
	@$(BIN)/python scripts/init_env.py
	@test -f $(DOSSIER_DB) || $(BIN)/python -m dossier_api.seed --db $(DOSSIER_DB)
	@echo "==> Web chat:        http://127.0.0.1:$${CHAT_PORT:-8080}/"
	@echo "    Staff console:   http://127.0.0.1:$${CHAT_PORT:-8080}/staff/"
	@echo "    Internals (loopback, each wants its token from .env): dossier API :8081, Rasa :5005,"
	@echo "    action server :5055, Redis :6379, SMS gateway /metrics :$${SMS_HTTP_PORT:-8090} (simulated SMSC :2775)"
	@echo "    Send an SMS:     .venv/bin/python -m sms_gateway.cli send 0901234567 \"HS 000.00.12.H17-261023-0010\""
	umask 077 && PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

validate: $(BIN)/.installed ## Check the training data and domain (rasa data validate)
	$(BIN)/rasa data validate --data nlu_data --config config.yml --domain domain.yml --fail-on-warnings

unit: $(BIN)/.installed ## Unit tests only (no trained model needed)
	$(BIN)/pytest -q -m "not e2e and not model"

test: install model validate lint ## Set up everything, then run the whole test suite
	$(BIN)/pytest -q

eval-nlu: install model ## 5-fold CV + fixed test split: per-intent P/R/F1, confusion matrices, entities
	$(BIN)/python scripts/eval_nlu.py --model $(MODEL)

eval-conversations: install model ## Play tests/conversations/ on the whole stack: share fully correct by service and channel
	$(BIN)/python scripts/eval_conversations.py

eval-blind: install model ## Play the held-out tests/conversations/blind/ (a measurement, not in make test)
	$(BIN)/python scripts/eval_conversations.py --dir tests/conversations/blind --trace-failures

eval-blind3: install model ## Play the third held-out batch, tests/conversations/blind3/ (written after the fixes)
	$(BIN)/python scripts/eval_conversations.py --dir tests/conversations/blind3 --trace-failures

eval-blind4: install model ## Play the fourth held-out batch, tests/conversations/blind4/ (a new citizen, measured)
	$(BIN)/python scripts/eval_conversations.py --dir tests/conversations/blind4 --trace-failures

eval-blind5: install model ## Play the fifth held-out batch, tests/conversations/blind5/ (a new citizen, measured)
	$(BIN)/python scripts/eval_conversations.py --dir tests/conversations/blind5 --trace-failures

eval-blind6: install model ## Play the sixth held-out batch, tests/conversations/blind6/ (a new citizen, measured)
	$(BIN)/python scripts/eval_conversations.py --dir tests/conversations/blind6 --trace-failures

eval-blind7: install model ## Play the seventh held-out batch, tests/conversations/blind7/ (a new citizen, measured)
	$(BIN)/python scripts/eval_conversations.py --dir tests/conversations/blind7 --trace-failures

eval-blind8: install model ## Play the eighth held-out batch, tests/conversations/blind8/ (a new citizen, measured)
	$(BIN)/python scripts/eval_conversations.py --dir tests/conversations/blind8 --trace-failures

eval-blind9: install model ## Play the ninth held-out batch, tests/conversations/blind9/ (mostly SMS, two requests in one message)
	$(BIN)/python scripts/eval_conversations.py --dir tests/conversations/blind9 --trace-failures

eval-blind10: install model ## Play the tenth held-out batch, tests/conversations/blind10/ (rarer procedures, topic switches, pronoun follow-ups)
	$(BIN)/python scripts/eval_conversations.py --dir tests/conversations/blind10 --trace-failures

eval-heldout: install model ## Score the model on the held-out utterances (tests/nlu/heldout/, heldout2/, heldout3/: citizens, other bots): a measurement, not in make test
	$(BIN)/python scripts/eval_heldout_nlu.py $(foreach d,heldout heldout2 heldout3,tests/nlu/$(d)/citizens.yml tests/nlu/$(d)/other_bots.yml)

eval-heldout3: install model ## Score the model on the third held-out set only (tests/nlu/heldout3/)
	$(BIN)/python scripts/eval_heldout_nlu.py tests/nlu/heldout3/citizens.yml tests/nlu/heldout3/other_bots.yml

eval-faq: $(BIN)/.installed ## Policy Q&A retrieval: top-1 accuracy, unanswerable declined, latency (tests/knowledge/eval_set.yml)
	$(BIN)/python scripts/eval_faq.py

bench-nlu: install ## Full training wall time, parse latency p50/p99, 5-fold CV accuracy
	$(BIN)/python scripts/bench_nlu.py

bench-chat: install model ## Concurrent web citizens (20, 50) through /api/chat and Rasa direct, 1 and 2 Rasa replicas
	$(BIN)/python scripts/bench_chat.py

bench-deps: ## Install Debian's kannel (the reference gateway of bench-sms)
	@command -v bearerbox >/dev/null || { echo "==> Installing kannel"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kannel >/dev/null; }

bench-sms: install model bench-deps ## MO->MT round trips: our gateway (keyword and Rasa paths) vs Kannel
	$(BIN)/python scripts/bench_sms.py

compare-nlu: install ## Compare the candidate pipelines in scripts/pipelines/ (slow: ~20 min)
	$(BIN)/python scripts/compare_pipelines.py scripts/pipelines/*.yml

lint: $(BIN)/.installed ## ruff, and the layer contracts (import-linter, pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean: ## Remove the model, the local data and caches (keeps .venv)
	rm -rf models var .pytest_cache
