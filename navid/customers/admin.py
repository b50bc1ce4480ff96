from django.contrib import admin

from navid.customers.models import Industry, ProductType, ProspectRank, ProspectStatus, ProspectType


class ReferenceAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_fa", "name_ru", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")
    search_fields = ("code", "name_en", "name_fa", "name_ru")


for model in (ProspectType, ProspectRank, ProspectStatus, Industry, ProductType):
    admin.site.register(model, ReferenceAdmin)
