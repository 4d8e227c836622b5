"""Views a test drives, standing in for a site that uses monitio."""

from django.urls import path

urlpatterns: list = []
