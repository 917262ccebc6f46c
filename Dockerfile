# The operator image: the static manager binary on an empty root. No base image is pulled:
# `make docker-build` builds bin/manager on the host and copies it into a build context.
FROM scratch
COPY manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
