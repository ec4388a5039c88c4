from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("categories/<slug:slug>/", views.category, name="category"),
    path("products/<slug:slug>/", views.product, name="product"),
    path("products/<slug:slug>/images/<int:number>.svg", views.product_image, name="product_image"),
    path("products/<slug:slug>/review/", views.review, name="review"),
    path("search/", views.search, name="search"),
    path("cart/", views.cart, name="cart"),
    path("cart/add/<int:product_id>/", views.cart_add, name="cart_add"),
    path("cart/remove/<int:product_id>/", views.cart_remove, name="cart_remove"),
    path("cart/update/<int:product_id>/", views.cart_update, name="cart_update"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("wishlist/", views.wishlist, name="wishlist"),
    path("wishlist/toggle/<int:product_id>/", views.wishlist_toggle, name="wishlist_toggle"),
    path("account/", views.account, name="account"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.ShopLoginView.as_view(), name="login"),
    path("accounts/logout/", views.ShopLogoutView.as_view(), name="logout"),
]
