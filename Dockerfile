# fraudnet: the API and the scheduler (docker-compose.yml runs both from this image).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY graph graph
COPY api api
COPY loaders loaders
COPY queries queries
RUN pip install --no-cache-dir -c constraints.txt . && useradd --create-home fraudnet
USER fraudnet
ENV FRAUDNET_STORE=/store
EXPOSE 8000
CMD ["fraudnet", "serve", "--host", "0.0.0.0", "--port", "8000"]
