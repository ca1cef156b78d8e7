# deploy: the production build of the0-runtime and the packaging checks (included from the Makefile).
#   make release        build/release/the0-runtime: -O2, no fault points (FIU=0), no libfiu; what the image runs
#   make deploy-check   part of make test: ci/check-deploy.sh (kustomize overlays, the Helm chart rendered,
#                       cross-references, controller flags, the release binary free of libfiu)
RELEASE_DIR := build/release

.PHONY: release deploy-check
release: ## build/release/the0-runtime: the production build (no libfiu fault points, no libfiu)
	@$(MAKE) --no-print-directory BUILD=$(RELEASE_DIR) FIU=0 OPT=-O2 SAN= $(RELEASE_DIR)/the0-runtime

$(BUILD)/tools/helm-render: ci/helm-render/main.go ci/helm-render/build.sh
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GO      $@")
	$(Q)bash ci/helm-render/build.sh $@

TEST_TARGETS += deploy-check
deploy-check: release $(BUILD)/the0-runtime $(BUILD)/tools/helm-render ## packaging checks: kustomize, the Helm chart rendered, the release binary (part of make test)
	@bash ci/check-deploy.sh $(BUILD)/the0-runtime $(RELEASE_DIR)/the0-runtime $(BUILD)/tools/helm-render
