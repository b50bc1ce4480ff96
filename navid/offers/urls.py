from django.urls import path

from navid.offers import views

app_name = "offers"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("new/", views.offer_create, name="offer-create"),
    path("<int:pk>/edit/", views.offer_edit, name="offer-edit"),
    path("products/<int:pk>/rules/", views.product_rules, name="rules"),
    path("matrix/", views.product_segment_matrix, name="matrix"),
    path("cross-product/", views.cross_product, name="cross-product"),
    path("models/", views.models, name="models"),
    path("models/retrain/", views.retrain, name="retrain"),
    path("customers/<int:pk>/next-best-offers/", views.customer_next_best_offers, name="customer-nbo"),
]
