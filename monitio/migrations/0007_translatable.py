from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitio", "0006_email_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="params",
            field=models.JSONField(
                blank=True,
                editable=False,
                help_text="Set for a translatable message: its text and subject are msgids.",
                null=True,
                verbose_name="parameters",
            ),
        ),
    ]
