# marketsync — `make help` lists the targets.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

BIN        := bin/marketsync
DB_URL      = $(shell cmd/marketsync/localpg.sh)
GO_SOURCES := $(shell find cmd handlers internal views static -name '*.go' 2>/dev/null) go.mod go.sum

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: build
build: $(BIN) ## build bin/marketsync (no npm needed: generated files are committed)

$(BIN): $(GO_SOURCES)
	go build -o $(BIN) ./cmd/marketsync

.PHONY: run
run: build ## build and serve http://localhost:8000 on the demo source and the local PostgreSQL
	@echo "./$(BIN) serve --init-admin   (DATABASE_URL from cmd/marketsync/localpg.sh; not echoed: it may hold a password)"
	@DATABASE_URL="$(DB_URL)" MARKETSYNC_DEMO_LATENCY=$${MARKETSYNC_DEMO_LATENCY:-200ms} ./$(BIN) serve --init-admin

.PHONY: test
test: ## go vet, then every test (race detector on, in random order) against the real PostgreSQL
	go vet ./...
	@echo "go test -race -count=1 -shuffle=on -timeout 20m ./..."
	@DATABASE_URL="$(DB_URL)" go test -race -count=1 -shuffle=on -timeout 20m ./...

.PHONY: bench
bench: ## the benchmarks: a year through the engine vs a bare COPY loop, a day on a 20-year warehouse, live push latency, API p99
	@DATABASE_URL="$(DB_URL)" go test -run '^$$' -bench . -benchtime 1x -timeout 30m ./internal/engine/ ./handlers/

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

.PHONY: generate
generate: node_modules ## rebuild the generated files: templ components, the CSS, vendored htmx
	go tool templ generate -path views
	npm run --silent build

.PHONY: verify
verify: generate ## fail when the committed generated files are stale
	@git diff --exit-code --stat -- views static \
	  || { echo "generated files are stale: run 'make generate' and commit"; exit 1; }

.PHONY: lint
lint: ## gofmt and go vet
	@test -z "$$(gofmt -l cmd handlers internal views)" || { gofmt -l cmd handlers internal views; exit 1; }
	go vet ./...

.PHONY: clean
clean: ## remove the binary and the private PostgreSQL cluster, if any
	cmd/marketsync/localpg.sh stop
	rm -rf bin .data
