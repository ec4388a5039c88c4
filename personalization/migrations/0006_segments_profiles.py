import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('personalization', '0005_event_fk_indexes_covered'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Segment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=64, unique=True, verbose_name='slug')),
                ('name', models.CharField(max_length=100, verbose_name='name')),
                ('description', models.TextField(blank=True, verbose_name='description')),
                ('kind', models.CharField(choices=[('rule', 'Rule'), ('rfm', 'RFM segment'), ('cluster', 'Cluster'), ('propensity', 'Propensity'), ('manual', 'Manual')], default='rule', max_length=12, verbose_name='kind')),
                ('mode', models.CharField(choices=[('static', 'Static: recomputed on a schedule'), ('dynamic', 'Dynamic: re-evaluated on every event')], default='static', max_length=8, verbose_name='mode')),
                ('rule', models.JSONField(blank=True, default=dict, help_text='For rule segments: the JSON rule (docs/segments.md).', verbose_name='rule')),
                ('definition', models.JSONField(blank=True, default=dict, help_text='For generated segments, what selects the members, e.g. {"rfm_segment": "Champions"}, {"algorithm": "kmeans", "label": 2} or {"min_propensity": 0.5}.')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('is_builtin', models.BooleanField(default=False, editable=False, verbose_name='built in')),
                ('member_count', models.PositiveIntegerField(default=0, editable=False, verbose_name='members')),
                ('last_computed_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name': 'segment',
                'ordering': ['kind', 'name'],
            },
        ),
        migrations.CreateModel(
            name='SegmentationRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('pending', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='pending', max_length=8, verbose_name='status')),
                ('triggered_by', models.CharField(choices=[('schedule', 'Schedule'), ('admin', 'Admin'), ('command', 'Management command'), ('code', 'Python call')], default='code', max_length=8)),
                ('task_id', models.CharField(blank=True, max_length=64)),
                ('progress', models.PositiveSmallIntegerField(default=0, verbose_name='progress (%)')),
                ('step', models.CharField(blank=True, max_length=64, verbose_name='current step')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('params', models.JSONField(blank=True, default=dict)),
                ('metrics', models.JSONField(blank=True, default=dict)),
                ('error', models.TextField(blank=True)),
            ],
            options={
                'verbose_name': 'segmentation run',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Cluster',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('algorithm', models.CharField(choices=[('kmeans', 'K-Means'), ('dbscan', 'DBSCAN')], max_length=8)),
                ('label', models.IntegerField(help_text="The algorithm's label; -1 is DBSCAN's noise.")),
                ('size', models.PositiveIntegerField(default=0)),
                ('share', models.FloatField(default=0, help_text='Share of all profiles (0–1).')),
                ('description', models.CharField(blank=True, max_length=255)),
                ('effects', models.JSONField(blank=True, default=list, help_text='[feature, standard deviations from the overall mean], strongest first.')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='clusters', to='personalization.segmentationrun')),
            ],
            options={
                'verbose_name': 'cluster',
                'ordering': ['run', 'algorithm', 'label'],
            },
        ),
        migrations.CreateModel(
            name='SegmentMembership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('entered_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('exited_at', models.DateTimeField(blank=True, null=True)),
                ('segment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='personalization.segment')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='p13n_segment_memberships', to=settings.AUTH_USER_MODEL)),
                ('visitor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='segment_memberships', to='personalization.visitor')),
            ],
            options={
                'verbose_name': 'segment membership',
                'ordering': ['-entered_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='SegmentSize',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('size', models.PositiveIntegerField(default=0)),
                ('segment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sizes', to='personalization.segment')),
            ],
            options={
                'verbose_name': 'segment size',
                'ordering': ['segment', '-day'],
            },
        ),
        migrations.CreateModel(
            name='Profile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('computed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_activity', models.DateTimeField(blank=True, null=True)),
                ('recency_days', models.FloatField(blank=True, help_text='Days since last order.', null=True)),
                ('frequency', models.PositiveIntegerField(default=0, help_text='Orders.')),
                ('monetary', models.FloatField(default=0, help_text='Total spent.')),
                ('cart_to_purchase_rate', models.FloatField(blank=True, null=True)),
                ('price_sensitivity', models.FloatField(blank=True, help_text='Share of items bought discounted or low-priced (0–1).', null=True)),
                ('sessions', models.PositiveIntegerField(default=0)),
                ('avg_session_seconds', models.FloatField(blank=True, null=True)),
                ('page_depth', models.FloatField(blank=True, help_text='Page views per session.', null=True)),
                ('dwell_seconds', models.FloatField(blank=True, help_text='Average time on a product page.', null=True)),
                ('category_affinity', models.JSONField(blank=True, default=dict, help_text='Share of product interest per category (0–1).')),
                ('device_mix', models.JSONField(blank=True, default=dict, help_text='Share of sessions per device type (0–1).')),
                ('attributes', models.JSONField(blank=True, default=dict, help_text='Account attributes the store provides.')),
                ('r_score', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('f_score', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('m_score', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('rfm_score', models.CharField(blank=True, max_length=3)),
                ('rfm_segment', models.CharField(blank=True, db_index=True, max_length=32)),
                ('propensity', models.FloatField(blank=True, help_text='Probability of a purchase in the coming window.', null=True)),
                ('cluster', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='profiles', to='personalization.cluster')),
                ('user', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='p13n_profile', to=settings.AUTH_USER_MODEL)),
                ('visitor', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='profile', to='personalization.visitor')),
            ],
            options={
                'verbose_name': 'profile',
                'ordering': ['-last_activity', '-id'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('user__isnull', False), ('visitor__isnull', True)), models.Q(('user__isnull', True), ('visitor__isnull', False)), _connector='OR'), name='p13n_profile_one_person')],
            },
        ),
        migrations.AddConstraint(
            model_name='cluster',
            constraint=models.UniqueConstraint(fields=('run', 'algorithm', 'label'), name='p13n_cluster_label_once'),
        ),
        migrations.AddIndex(
            model_name='segmentmembership',
            index=models.Index(fields=['segment', 'exited_at'], name='personaliza_segment_109808_idx'),
        ),
        migrations.AddIndex(
            model_name='segmentmembership',
            index=models.Index(fields=['user', 'exited_at'], name='personaliza_user_id_564b23_idx'),
        ),
        migrations.AddIndex(
            model_name='segmentmembership',
            index=models.Index(fields=['visitor', 'exited_at'], name='personaliza_visitor_2e5a53_idx'),
        ),
        migrations.AddConstraint(
            model_name='segmentmembership',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('user__isnull', False), ('visitor__isnull', True)), models.Q(('user__isnull', True), ('visitor__isnull', False)), _connector='OR'), name='p13n_membership_one_person'),
        ),
        migrations.AddConstraint(
            model_name='segmentmembership',
            constraint=models.UniqueConstraint(condition=models.Q(('exited_at__isnull', True), ('user__isnull', False)), fields=('segment', 'user'), name='p13n_membership_open_once_user'),
        ),
        migrations.AddConstraint(
            model_name='segmentmembership',
            constraint=models.UniqueConstraint(condition=models.Q(('exited_at__isnull', True), ('visitor__isnull', False)), fields=('segment', 'visitor'), name='p13n_membership_open_once_visitor'),
        ),
        migrations.AddConstraint(
            model_name='segmentsize',
            constraint=models.UniqueConstraint(fields=('segment', 'day'), name='p13n_segment_size_once'),
        ),
    ]
