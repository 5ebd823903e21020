# The project's entry points. `make test` is what CI runs (.ci/run).
CARGO ?= cargo

.PHONY: test
test:
	$(CARGO) test --workspace
