def spec():
    return {"openapi": "3.1.0", "info": {"title": "billing", "version": "0"}, "paths": {}}
