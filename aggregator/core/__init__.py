"""Pure core: values in, values out. Never imports httpx, redis, celery or fastapi."""
