from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitio", "0004_kinds_preferences"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="group_key",
            field=models.CharField(
                blank=True, editable=False, max_length=100, null=True, verbose_name="group key"
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="group_count",
            field=models.PositiveIntegerField(
                default=1, editable=False, verbose_name="messages in the group"
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="group_senders",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="latest senders"
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="group_ids",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                condition=models.Q(("group_key__isnull", False), ("read", False)),
                fields=("user", "group_key"),
                name="monitio_one_unread_group",
            ),
        ),
    ]
