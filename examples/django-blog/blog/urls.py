from django.urls import path

from posts import views as posts
from . import views

urlpatterns = [
    path("healthz/", views.healthz),
    path("version", views.version),
    path("posts/", posts.posts),
    path("", views.index),
]
