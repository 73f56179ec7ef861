# writepath: the two commands README.md gives are `make demo` and `make test`.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
RELEASE := .build/release/writepath
SCRATCH ?= $(CURDIR)/.build/demo-scratch

.PHONY: deps build release demo test bench format clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## The release binary links the Swift runtime statically, so containers and guests need only libc.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib

## Runs the embedded default workload set on this host against a file in a scratch folder,
## prints the summary and writes the JSON result under results/.
demo: release
	@mkdir -p results
	$(RELEASE) demo --directory $(SCRATCH) --results results

## Installs what is missing (engine, containers, guests), starts dockerd, runs the whole test suite.
test:
	@scripts/install-deps.sh all
	@scripts/start-dockerd.sh || echo "make test: docker is not available; its tests will say so and skip"
	@scripts/fetch-xen.sh || echo "make test: Debian's Xen packages could not be fetched; the Xen tests will say so and skip"
	$(SWIFT) build -c release --static-swift-stdlib
	$(SWIFT) build --build-tests
	WRITEPATH_ENGINE=$(CURDIR)/$(RELEASE) $(SWIFT) test

## writepath against fio, side by side (see scripts/bench-vs-fio.sh).
bench: release
	scripts/bench-vs-fio.sh

format:
	$(SWIFT) format --in-place --recursive Sources Tests

clean:
	rm -rf .build
