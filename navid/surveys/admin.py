from django.contrib import admin

from navid.surveys.models import EvaluationParameter


@admin.register(EvaluationParameter)
class EvaluationParameterAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_fa", "name_ru", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")
    search_fields = ("code", "name_en", "name_fa", "name_ru")
