from django.urls import path

from navid.telemarketing import views

app_name = "telemarketing"
urlpatterns = [
    path("console/", views.console, name="console"),
    path("console/panel/", views.console_panel, name="console-panel"),
    path("console/state/", views.console_state, name="console-state"),
    path("console/calls/<int:pk>/status/", views.console_status, name="console-status"),
    path("console/calls/<int:pk>/call/", views.console_call, name="console-call"),
    path("console/calls/<int:pk>/hang-up/", views.console_hangup, name="console-hangup"),
    path("console/calls/<int:pk>/outcome/", views.console_outcome, name="console-outcome"),
    path("console/script/<int:pk>/", views.console_script, name="console-script"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/board/", views.supervisor_board, name="supervisor-board"),
    path("supervisor/reassign/", views.supervisor_reassign, name="supervisor-reassign"),
    path("agents/<int:user_id>/", views.agent_edit, name="agent-edit"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<int:pk>/", views.campaign_setup, name="campaign-setup"),
    path("campaigns/<int:pk>/outcomes/", views.outcome_add, name="outcome-add"),
    path("campaigns/<int:pk>/script/", views.node_add, name="node-add"),
    path("campaigns/<int:pk>/script/<int:node_pk>/answers/", views.branch_add, name="branch-add"),
    path("reports/", views.reports, name="reports"),
]
