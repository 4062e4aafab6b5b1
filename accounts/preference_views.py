"""A person's preferences page: the time zone pages show times in."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import TimeZonePreference
from .time_zones import COOKIE, known_zones, time_zone_save, zone_named


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        help_text=gettext_lazy("Dates and times on every page are shown in it, zone named."),
    )

    def __init__(self, *args, browser_zone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        follow = _("Follow my browser")
        if browser_zone:
            follow = _("Follow my browser (now %(zone)s)") % {"zone": browser_zone}
        self.fields["time_zone"].choices = [("", follow)] + [
            (name, name.replace("_", " ")) for name in sorted(known_zones())
        ]


def preferences(request):
    browser_zone = (
        request.COOKIES.get(COOKIE, "") if zone_named(request.COOKIES.get(COOKIE)) else ""
    )
    saved = TimeZonePreference.objects.filter(user=request.user).first()
    initial = {"time_zone": saved.time_zone if saved else ""}
    form = TimeZoneForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        browser_zone=browser_zone,
    )
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["time_zone"]
        time_zone_save(user=request.user, name=name, request=request)
        if name:
            messages.success(request, _("Times are now shown in %(zone)s.") % {"zone": name})
        else:
            messages.success(request, _("Times now follow your browser's time zone."))
        return redirect("accounts:preferences")
    context = {"form": form, "zone": timezone.get_current_timezone_name()}
    return render(request, "accounts/preferences.html", context, status=400 if form.errors else 200)
