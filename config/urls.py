from django.contrib import admin
from django.urls import path

from directory import views

admin.site.site_header = "Wegweiser NRW – Redaktion"
admin.site.site_title = "Wegweiser NRW"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", views.root, name="root"),
]
