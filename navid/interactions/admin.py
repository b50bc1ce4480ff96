from django.contrib import admin

from navid.customers.admin import ReferenceAdmin
from navid.interactions.models import ComplaintCategory

admin.site.register(ComplaintCategory, ReferenceAdmin)
