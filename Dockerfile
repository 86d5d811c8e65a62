# fhirconv as a container: `docker run --rm -v "$PWD:/work" fhirconv convert /work/case.yaml -o /work/bundle.json`
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY fhirconv ./fhirconv
COPY mappings ./mappings
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 fhirconv
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER fhirconv
WORKDIR /home/fhirconv
ENTRYPOINT ["fhirconv"]
CMD ["--help"]
