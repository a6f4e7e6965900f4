"""The Neo4j Browser's fraudnet style, guide and favourites, at fixed public paths.

They hold no data (the style, the guide's text and the catalog's saved queries), so no API key is
needed, and they carry the CORS headers the Browser needs to fetch them from another origin
(its `:style URL` and `:play URL` send `pragma` and `cache-control` headers, hence a preflight).
Neo4j's `browser.post_connect_cmd` points at them (`queries.browser.browser_settings`).
"""
from fastapi import APIRouter, Response

from queries.browser import PATHS, favourites_zip, guide_html, style

router = APIRouter(tags=["neo4j browser"])

CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, OPTIONS",
        "Access-Control-Allow-Headers": "pragma, cache-control", "Access-Control-Max-Age": "600"}


@router.get(PATHS["style"], response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "queries/fraudnet.grass"}})
def browser_style() -> Response:
    """The Browser style (GraSS): colours by kind, sizes by risk, captions."""
    return Response(style(), media_type="text/plain; charset=utf-8", headers=CORS)


@router.get(PATHS["guide"], response_class=Response,
            responses={200: {"content": {"text/html": {}}, "description": "the fraudnet :play guide"}})
def browser_guide() -> Response:
    """The fraudnet guide for `:play`: what the graph holds, then one runnable slide per pattern."""
    return Response(guide_html(), media_type="text/html; charset=utf-8", headers=CORS)


@router.get(PATHS["favourites"], response_class=Response,
            responses={200: {"content": {"application/zip": {}}, "description": "fraudnet/*.cypher"}})
def browser_favourites() -> Response:
    """The saved queries as a zip to drop on the Browser's Favorites panel (a `fraudnet` folder)."""
    return Response(favourites_zip(), media_type="application/zip", headers={
        **CORS, "Content-Disposition": 'attachment; filename="fraudnet-favourites.zip"'})


@router.options(PATHS["style"], include_in_schema=False)
@router.options(PATHS["guide"], include_in_schema=False)
@router.options(PATHS["favourites"], include_in_schema=False)
def browser_preflight() -> Response:
    return Response(status_code=204, headers=CORS)
