from django.urls import path

from . import views

urlpatterns = [
    path("healthz/", views.healthz),
    path("version", views.version),
    path("", views.index),
]
