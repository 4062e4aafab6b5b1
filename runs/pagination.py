"""Pages of long lists: a bad page number is a 404 (as Django's ListView does), never a crash."""

from django.core.paginator import InvalidPage, Page, Paginator
from django.http import Http404
from django.utils.translation import gettext as _


def page_of(request, items, *, per_page: int) -> Page:
    """The page of ``items`` asked for by ``?page=`` (the first one when absent)."""
    paginator = Paginator(items, per_page)
    number = request.GET.get("page") or 1
    try:
        return paginator.page(number)
    except InvalidPage:
        raise Http404(_("There is no page “%(page)s” in this list.") % {"page": number}) from None
