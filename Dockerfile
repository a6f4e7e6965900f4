# fraudnet: the API, the scheduler and the demo (docker-compose.yml runs them from this image).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY config config
COPY contract contract
COPY engine engine
COPY loaders loaders
COPY graph graph
COPY runs runs
COPY cases cases
COPY publish publish
COPY api api
COPY cli cli
COPY scheduler scheduler
COPY queries queries
# /store belongs to the image's user, so a new named volume mounted there is writable by it
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --create-home fraudnet \
 && mkdir /store && chown fraudnet:fraudnet /store
USER fraudnet
ENV FRAUDNET_STORE=/store
EXPOSE 8000
CMD ["fraudnet", "serve", "--host", "0.0.0.0", "--port", "8000"]
