# writepath: the two commands README.md gives are `make demo` and `make test`.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
RELEASE := .build/release/writepath

.PHONY: deps build release demo test lint sanitize fuzz bench bench-vs-fio format clean

deps:
	@scripts/install-deps.sh
	@scripts/stamp-commit.sh

build: deps
	$(SWIFT) build

## The release binary links the Swift runtime statically, so containers and guests need only libc.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product writepath

## The main job: the shipped quick suite on every layer available here (host and containers;
## it says which are not and why), then the report: prints the table and where report.html is,
## and the screenshots of the run folder's report (desktop, phone) and of summary.md as a job
## summary (scripts/screenshots.sh: report.png, report-phone.png, summary.png), also when runs failed.
demo:
	@scripts/install-deps.sh build containers reports
	@scripts/stamp-commit.sh
	@scripts/start-dockerd.sh || echo "make demo: docker is not available; its layers will be reported unavailable"
	$(SWIFT) build -c release --static-swift-stdlib --product writepath
	@mkdir -p results
	@status=0; $(RELEASE) demo --results results || status=$$?; scripts/screenshots.sh --newest results; exit $$status

## Installs what is missing (engine, containers, guests), runs the lint step, starts dockerd, runs
## the whole test suite (scripts/run-tests.sh: prints how many tests were skipped and why; under
## CI=true a skip fails, but for the allow-list in Tests/WritePathTestSupport/Precondition.swift).
test:
	@scripts/install-deps.sh all
	@SWIFT=$(SWIFT) scripts/lint.sh
	@scripts/stamp-commit.sh
	@scripts/start-dockerd.sh || echo "make test: docker is not available; its tests will say so and skip"
	@scripts/fetch-xen.sh || echo "make test: Debian's Xen packages could not be fetched; the Xen tests will say so and skip"
	$(SWIFT) build -c release --static-swift-stdlib --product writepath
	$(SWIFT) build --build-tests
	WRITEPATH_ENGINE=$(CURDIR)/$(RELEASE) SWIFT=$(SWIFT) scripts/run-tests.sh --skip-build --no-parallel

## swift format lint --strict, no line over 140 characters, shellcheck on the scripts (scripts/lint.sh).
lint:
	@SWIFT=$(SWIFT) scripts/lint.sh

## The test suite under ThreadSanitizer and AddressSanitizer (.build-tsan, .build-asan); see
## scripts/sanitize.sh for SANITIZE_FILTER (by default the guest suites, QEMU and Xen, are skipped).
sanitize:
	scripts/sanitize.sh

## libFuzzer on the job-file, matrix and result parsers, FUZZ_SECONDS each (default 60).
fuzz:
	scripts/fuzz.sh

## The guards that need no quiet machine (a few minutes; not part of `make test`): the job loop
## allocates nothing per I/O (package-benchmark's malloc counters against Benchmarks/Thresholds/)
## and its instructions per I/O (callgrind, null engine and io_uring) stay under
## Benchmarks/Thresholds/instructions-per-io.tsv. Fails above either.
bench: release
	@scripts/install-deps.sh build bench
	SWIFT=$(SWIFT) scripts/bench-allocations.sh
	scripts/bench-instructions.sh

## writepath against fio, side by side, timed (see scripts/bench-vs-fio.sh; a quiet machine).
bench-vs-fio: release
	scripts/bench-vs-fio.sh

format:
	$(SWIFT) format --in-place --recursive Sources Tests

clean:
	rm -rf .build
