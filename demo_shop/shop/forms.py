"""Forms of the demo shop."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import AbstractUser

from .models import CustomerProfile, Review
from .services import Shipping

RATING_CHOICES = [(n, f"{n} star" + ("s" if n > 1 else "")) for n in range(5, 0, -1)]


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For order confirmations.")

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class ReviewForm(forms.ModelForm):
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect, initial=5
    )

    class Meta:
        model = Review
        fields = ("rating", "title", "body")
        labels = {"body": "Your review"}
        widgets = {"body": forms.Textarea(attrs={"rows": 4})}


class ShippingForm(forms.Form):
    name = forms.CharField(
        max_length=120, label="Full name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    address = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"autocomplete": "street-address"})
    )
    city = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    postcode = forms.CharField(
        max_length=16, widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    country = forms.CharField(
        max_length=64, widget=forms.TextInput(attrs={"autocomplete": "country-name"})
    )
    remember = forms.BooleanField(
        required=False, initial=True, label="Save this address to my account"
    )

    @classmethod
    def initial_for(cls, user: AbstractUser, profile: CustomerProfile | None) -> dict[str, object]:
        """Initial values from the user's name and saved address."""
        initial: dict[str, object] = {"name": user.get_full_name() or user.get_username()}
        if profile is not None:
            initial.update(
                address=profile.address,
                city=profile.city,
                postcode=profile.postcode,
                country=profile.country,
            )
        return initial

    def shipping(self) -> Shipping:
        data = self.cleaned_data
        return Shipping(
            data["name"], data["address"], data["city"], data["postcode"], data["country"]
        )


class ProfileForm(forms.ModelForm):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)

    class Meta:
        model = CustomerProfile
        fields = ("phone", "address", "city", "postcode", "country", "birth_year")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        user = self.instance.user
        for field in ("first_name", "last_name", "email"):
            self.fields[field].initial = getattr(user, field)
        # Account fields first, then the address.
        self.order_fields(["first_name", "last_name", "email"])

    def save(self, commit: bool = True) -> CustomerProfile:
        profile = super().save(commit=commit)
        user = profile.user
        for field in ("first_name", "last_name", "email"):
            setattr(user, field, self.cleaned_data[field])
        if commit:
            user.save(update_fields=["first_name", "last_name", "email"])
        return profile
