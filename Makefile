# deployctl — see README.md. Every target works on a fresh Debian 12 machine;
# targets that need Debian packages install them (as root) first.

# Go 1.26 from the PATH, or where the machine image keeps it.
export PATH := $(PATH):/usr/local/go/bin
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/deployctl
N         ?= 3
TEST_TIMEOUT ?= 14m

.PHONY: all build test unit lint bench deps demo fleet-up fleet-down fleet-status clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/deployctl

# deps installs the Debian packages the integration tests and the fleet use
# (openssh-server, haproxy, etcd, prometheus). Needs root when any is missing.
deps:
	bash testdata/fleet/install-deps.sh

# test runs every test: unit tests and the integration tests against real
# sshd, HAProxy, etcd and Prometheus started by the tests themselves.
test: deps
	CGO_ENABLED=0 $(GO) build ./...
	$(GO) vet ./... ./testdata/fleet/...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./... ./testdata/fleet/...

# unit runs only the fast tests (no fleet, no real servers).
unit:
	$(GO) test -count=1 -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# bench reports the speed targets: orchestration overhead per host on a
# 10-host loopback fleet (deploy), staging 80 MB to 10 hosts (release), one
# remote command over the reused connection vs a fresh one (sshx), and the
# smaller parts. Per-command timings need many runs, whole rollouts few.
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 200x -timeout 10m ./pkg/sshx
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x -timeout 30m ./deploy ./pkg/release ./pkg/gitsrc ./pkg/configset ./pkg/state ./internal/loadgen

# demo brings up a local fleet, rolls out a good tag, then a bad one that is
# rolled back automatically, and brings the fleet down.
demo: deps
	bash testdata/demo.sh

fleet-up: deps
	bash testdata/fleet/fleet.sh up $(N)

fleet-down:
	bash testdata/fleet/fleet.sh down

fleet-status:
	bash testdata/fleet/fleet.sh status

clean:
	rm -rf bin
