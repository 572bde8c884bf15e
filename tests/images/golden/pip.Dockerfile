# Made by mlk (mlk.images.dockerfile): an environment's image. Model and code are not in it.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ENV UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/opt/mlk/runtime MLK_PYTHON=/opt/mlk/env/bin/python VIRTUAL_ENV=/opt/mlk/env PATH=/opt/mlk/env/bin:$PATH
COPY mlk-build /opt/mlk/build
RUN set -e; cp /opt/mlk/build/uv /usr/local/bin/uv; python3 -m venv /opt/mlk/env; /opt/mlk/env/bin/python -m pip install --no-cache-dir -r /opt/mlk/build/requirements.txt
RUN /opt/mlk/env/bin/python -c "import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else 'mlk serves score.py with Python 3.11 or newer; this image has %d.%d' % v[:2])" && uv pip install --no-cache --python /opt/mlk/env/bin/python 'httptools>=0.6' 'uvloop>=0.19'
COPY mlk-runtime /opt/mlk/runtime/mlk
CMD ["/opt/mlk/env/bin/python", "-m", "mlk.server", "--port", "5001"]
