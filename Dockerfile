# The turnstile binary in an image, for running shards of a race on an orchestrator (docs/distributed.md):
#   docker build -t turnstile .
# Built in release from this checkout; the bundled scenarios are compiled in, and copied to /scenarios to be read
# as files (`turnstile stress run /scenarios/race.yaml`) or replaced by a volume of your own.
FROM swift:6.1-bookworm AS build
WORKDIR /src
COPY . .
RUN swift build -c release --product turnstile \
    && install -D .build/release/turnstile /out/turnstile

FROM swift:6.1-bookworm-slim
COPY --from=build /out/turnstile /usr/local/bin/turnstile
COPY scenarios /scenarios
USER 65534:65534
ENTRYPOINT ["turnstile"]
