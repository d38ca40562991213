"""Every piece of UI text of the dashboard, in English and French, in one place.

``TEXTS[key] = (english, french)``; :func:`text` picks the language and fills ``{named}``
placeholders. ``COLUMNS`` names the mart columns shown in tables. A key missing from a
language is a bug that ``tests/python/test_dashboard_units.py`` catches.
"""

from __future__ import annotations

import re

from amazing_analytics.dashboard.formatting import Language

TEXTS: dict[str, tuple[str, str]] = {
    # --- frame -------------------------------------------------------------------------------
    "app.title": ("Amazing analytics", "Amazing analytics"),
    "app.language": ("Language", "Langue"),
    "app.built_at": ("Data of the build of {when} (UTC)", "Données du build du {when} (UTC)"),
    "app.no_exports": (
        "No exported data yet in {folder}: run `make build` (it exports the marts), then reload.",
        "Pas encore de données exportées dans {folder} : lancez `make build` (il exporte les "
        "marts), puis rechargez.",
    ),
    "common.missing": (
        "**{table}** is not built yet: run `make build`, then reload this page.",
        "**{table}** n'est pas encore construite : lancez `make build`, puis rechargez la page.",
    ),
    "common.empty": (
        "**{table}** is empty for this build (too little data for it).",
        "**{table}** est vide pour ce build (trop peu de données).",
    ),
    "common.download": ("Download (CSV)", "Télécharger (CSV)"),
    "nav.overview": ("Overview", "Vue d'ensemble"),
    "nav.basics": ("Amazing Basics", "Amazing Basics"),
    "nav.segments": ("Segments", "Segments"),
    "nav.campaigns": ("Campaigns", "Campagnes"),
    "nav.recommendations": ("Recommendations", "Recommandations"),
    "nav.forecasts": ("Forecasts", "Prévisions"),
    "nav.quality": ("Data quality", "Qualité des données"),
    "nav.privacy": ("Models and privacy", "Modèles et vie privée"),
    "nav.decisions": ("Decisions", "Décisions"),
    "axis.week": ("Week (starting Monday)", "Semaine (début le lundi)"),
    "axis.month": ("Month", "Mois"),
    "axis.date": ("Date", "Date"),
    "axis.revenue": ("Revenue ($)", "Chiffre d'affaires ($)"),
    "axis.customers": ("Customers (number)", "Clients (nombre)"),
    "axis.rows": ("Rows (number)", "Lignes (nombre)"),
    "axis.share": ("Share (%)", "Part (%)"),
    "axis.segment": ("Segment", "Segment"),
    "axis.model": ("Model", "Modèle"),
    "axis.feature": ("Feature", "Variable"),
    "legend.measure": ("Measure", "Mesure"),
    "legend.segment": ("Segment", "Segment"),
    "legend.met": ("Objective met", "Objectif atteint"),
    "yes": ("yes", "oui"),
    "no": ("no", "non"),
    # --- decisions ---------------------------------------------------------------------------
    "decisions.title": (
        "Decisions: stock, prices, campaign tests, recommendations",
        "Décisions : stocks, prix, tests de campagnes, recommandations",
    ),
    "decisions.intro": (
        "Suggestions built from the forecasts, the price history and the tests, each with its "
        "evidence. **Nothing here is applied automatically**: buyers and marketing decide.",
        "Des suggestions tirées des prévisions, de l'historique des prix et des tests, chacune "
        "avec ses preuves. **Rien n'est appliqué automatiquement** : les acheteurs et le "
        "marketing décident.",
    ),
    "decisions.stock.title": ("Stock plan", "Plan de stock"),
    "decisions.stock.caption": (
        "Per series: units expected over the forecast horizon, the safety stock and reorder point "
        "for the lead time at the target service level, and the service level the same plan "
        "achieved on the past forecasts (share of lead-time days on which demand stayed within "
        "it).",
        "Par série : unités attendues sur l'horizon de prévision, stock de sécurité et point de "
        "commande pour le délai d'approvisionnement au niveau de service visé, et le niveau de "
        "service que le même plan a atteint sur les prévisions passées (part des jours du délai "
        "où la demande est restée dans le plan).",
    ),
    "decisions.stock.chart": (
        "Service level achieved on past forecasts (target {target}, dashed)",
        "Niveau de service atteint sur les prévisions passées (cible {target}, en pointillés)",
    ),
    "decisions.stock.axis": (
        "Days within the plan (%, 95 % interval)",
        "Jours dans le plan (%, intervalle à 95 %)",
    ),
    "decisions.stock.chart_caption": (
        "Below the dashed line the forecast intervals are too narrow and the safety stock too "
        "small; above it the stock is larger than needed.",
        "Sous la ligne en pointillés, les intervalles de prévision sont trop étroits et le stock "
        "de sécurité trop faible ; au-dessus, le stock est plus grand que nécessaire.",
    ),
    "decisions.price.title": ("Price suggestions", "Suggestions de prix"),
    "decisions.price.caption": (
        "For the focus brand's underperforming and high-potential products: the price change "
        "within the guardrails that maximises expected revenue at its category's elasticity, "
        "with the expected effect over four weeks and its interval. For marketing to decide; "
        "never applied automatically.",
        "Pour les produits de la marque suivie en sous-performance ou à fort potentiel : la "
        "variation de prix, dans les garde-fous, qui maximise le chiffre d'affaires attendu à "
        "l'élasticité de leur catégorie, avec l'effet attendu sur quatre semaines et son "
        "intervalle. Au marketing de décider ; jamais appliqué automatiquement.",
    ),
    "decisions.price.chart": (
        "Evidence: elasticity of units to price per category (interval; -1 dashed)",
        "Preuves : élasticité des unités au prix par catégorie (intervalle ; -1 en pointillés)",
    ),
    "decisions.price.axis": (
        "Elasticity (% units for +1 % price)",
        "Élasticité (% d'unités pour +1 % de prix)",
    ),
    "decisions.price.axis_category": ("Category (level 2)", "Catégorie (niveau 2)"),
    "decisions.price.chart_caption": (
        "Left of -1 (elastic) a lower price raises revenue; right of it (inelastic) a higher "
        "price does. Categories whose price barely moved are not estimated: {not_identifiable}.",
        "À gauche de -1 (élastique), une baisse de prix augmente le chiffre d'affaires ; à "
        "droite (inélastique), une hausse. Catégories dont le prix a trop peu bougé, non "
        "estimées : {not_identifiable}.",
    ),
    "decisions.none": ("none", "aucune"),
    "decisions.campaigns.title": ("Campaign tests", "Tests de campagnes"),
    "decisions.campaigns.caption": (
        "Each recorded campaign against its control group (customers held out by a hash, who "
        "received nothing): conversion in the window after the send, the uplift and its "
        "interval. An interval containing 0 means the test cannot tell the effect from chance.",
        "Chaque campagne enregistrée face à son groupe témoin (clients tenus à l'écart par un "
        "hachage, qui n'ont rien reçu) : conversion dans la fenêtre après l'envoi, l'uplift et "
        "son intervalle. Un intervalle contenant 0 signifie que le test ne distingue pas l'effet "
        "du hasard.",
    ),
    "decisions.campaigns.plan_caption": (
        "Before sending: the smallest effect each campaign's test could detect at the holdout "
        "share (minimum detectable effect).",
        "Avant l'envoi : le plus petit effet que le test de chaque campagne pourrait détecter à "
        "la part de témoins choisie (effet minimal détectable).",
    ),
    "decisions.reco.title": ("Recommendation click-through", "Clics sur les recommandations"),
    "decisions.reco.missing": (
        "No recommendation feedback yet: the click-through appears once the API has logged "
        "impressions and feedback and a build has read them (recommendation_performance).",
        "Pas encore de retours sur les recommandations : les clics apparaissent quand l'API a "
        "enregistré des affichages et des retours et qu'un build les a lus "
        "(recommendation_performance).",
    ),
    "decisions.reco.caption": (
        "Per model, over every day, rank and segment: impressions, clicks and purchases, and the "
        "click-through (clicks / impressions).",
        "Par modèle, sur tous les jours, rangs et segments : affichages, clics et achats, et le "
        "taux de clic (clics / affichages).",
    ),
    "decisions.reco.chart": ("Click-through by rank", "Taux de clic par rang"),
    "decisions.reco.chart_caption": (
        "Clicks / impressions at each position of the list: how much the first places carry.",
        "Clics / affichages à chaque position de la liste : le poids des premières places.",
    ),
    "decisions.reco.axis.rank": ("Rank in the list", "Rang dans la liste"),
    "decisions.reco.axis.ctr": ("Click-through (%)", "Taux de clic (%)"),
    # --- overview ----------------------------------------------------------------------------
    "overview.title": (
        "Overview: are we meeting our objectives?",
        "Vue d'ensemble : atteignons-nous nos objectifs ?",
    ),
    "overview.intro": (
        "The last {weeks} full weeks ({current_start} – {current_end}) against the baseline "
        "period {baseline_start} – {baseline_end}.",
        "Les {weeks} dernières semaines complètes ({current_start} – {current_end}) par rapport "
        "à la période de référence {baseline_start} – {baseline_end}.",
    ),
    "overview.summary": (
        "{met} of {total} objectives met.",
        "{met} objectif(s) atteint(s) sur {total}.",
    ),
    "kpi.conversion_rate": ("Conversion rate", "Taux de conversion"),
    "kpi.average_basket": ("Average basket", "Panier moyen"),
    "kpi.bounce_rate": ("Bounce rate", "Taux de rebond"),
    "kpi.revenue": ("Revenue", "Chiffre d'affaires"),
    "kpi.help.conversion_rate": (
        "Share of visits that end with a purchase.",
        "Part des visites qui se terminent par un achat.",
    ),
    "kpi.help.average_basket": ("Mean value of an order.", "Valeur moyenne d'une commande."),
    "kpi.help.bounce_rate": (
        "Share of visits with a single page view.",
        "Part des visites d'une seule page.",
    ),
    "overview.status.met": (
        ":green[:material/check_circle: **Objective met**]: {change} against the baseline (objective {objective}).",
        ":green[:material/check_circle: **Objectif atteint**] : {change} par rapport à la référence (objectif {objective}).",
    ),
    "overview.status.not_met": (
        ":red[:material/cancel: **Objective not met**]: {change} against the baseline (objective {objective}, target {target}).",
        ":red[:material/cancel: **Objectif non atteint**] : {change} par rapport à la référence (objectif {objective}, cible {target}).",
    ),
    "overview.status.no_data": (
        ":gray[:material/help: Not enough data to judge.]",
        ":gray[:material/help: Pas assez de données pour juger.]",
    ),
    "overview.baseline_value": ("Baseline: {value}", "Référence : {value}"),
    "overview.kpi_chart.title": ("{kpi} by week", "{kpi} par semaine"),
    "overview.kpi_chart.caption": (
        "One point per full week: green when it reaches the target (dashed green line), red when not; the grey line is the baseline.",
        "Un point par semaine complète : vert quand il atteint la cible (tirets verts), rouge sinon ; la ligne grise est la référence.",
    ),
    "overview.revenue_chart.title": ("Revenue by week", "Chiffre d'affaires par semaine"),
    "overview.revenue_chart.caption": (
        "Revenue of the orders placed each week; the first and last weeks may be partial (hover a point for its figures).",
        "Chiffre d'affaires des commandes de chaque semaine ; la première et la dernière semaine peuvent être partielles (survolez un point pour ses chiffres).",
    ),
    "legend.partial_week": ("Partial week", "Semaine partielle"),
    # --- Amazing Basics ----------------------------------------------------------------------
    "basics.title": (
        "Amazing Basics: where the brand loses ground",
        "Amazing Basics : où la marque recule",
    ),
    "basics.intro": (
        "Our in-house brand's share of the categories it sells in, month by month, and what to act on.",
        "La part de notre marque maison dans ses catégories, mois par mois, et sur quoi agir.",
    ),
    "basics.share_chart.title": (
        "Amazing Basics' share of its categories, by month",
        "Part d'Amazing Basics dans ses catégories, par mois",
    ),
    "basics.share_chart.caption": (
        "The brand's share of revenue and of product views across all its categories; a falling line is the decline.",
        "Part de la marque dans le chiffre d'affaires et dans les vues de produits de toutes ses catégories ; une ligne qui baisse montre le recul.",
    ),
    "basics.measure.revenue_share": ("Revenue share", "Part du chiffre d'affaires"),
    "basics.measure.view_share": ("View share", "Part des vues"),
    "basics.measure.unit_share": ("Unit share", "Part des unités"),
    "basics.heatmap.title": (
        "Revenue share by category and month",
        "Part du chiffre d'affaires par catégorie et par mois",
    ),
    "basics.heatmap.caption": (
        "Darker means a larger share; read each row left to right to see where the share falls.",
        "Plus foncé = part plus grande ; lisez chaque ligne de gauche à droite pour voir où la part baisse.",
    ),
    "basics.losses.title": ("Where it loses most", "Où elle perd le plus"),
    "basics.losses.caption": (
        "Categories ranked by the brand's revenue share in {month} against the first month (100 = unchanged, 85 = 15 % lower).",
        "Catégories classées selon la part de la marque en {month} par rapport au premier mois (100 = inchangée, 85 = 15 % de moins).",
    ),
    "basics.products.title": ("Products to act on", "Produits sur lesquels agir"),
    "basics.products.caption": (
        "Amazing Basics products labelled underperforming or high potential over the last 28 days, with the reason.",
        "Produits Amazing Basics jugés en difficulté ou à fort potentiel sur les 28 derniers jours, avec la raison.",
    ),
    "label.underperforming": ("underperforming", "en difficulté"),
    "label.high_potential": ("high potential", "fort potentiel"),
    "label.star": ("star", "star"),
    "label.stable": ("stable", "stable"),
    "label.new": ("new", "nouveau"),
    "basics.no_products": (
        "No Amazing Basics product to act on in this build.",
        "Aucun produit Amazing Basics à traiter dans ce build.",
    ),
    "basics.forecast.title": (
        "Amazing Basics revenue: history and forecast",
        "Chiffre d'affaires Amazing Basics : historique et prévision",
    ),
    # --- segments ----------------------------------------------------------------------------
    "segments.title": ("Segments: who our customers are", "Segments : qui sont nos clients"),
    "segments.intro": (
        "{count} segments found by the customer segmentation, with what to do for each.",
        "{count} segments trouvés par la segmentation clients, avec l'action conseillée pour chacun.",
    ),
    "segments.sizes.title": ("Customers per segment", "Clients par segment"),
    "segments.sizes.caption": (
        "How many customers each segment has; the table below gives their profile and the suggested action.",
        "Le nombre de clients de chaque segment ; le tableau ci-dessous donne leur profil et l'action conseillée.",
    ),
    "segments.profiles.title": ("Profiles and suggested actions", "Profils et actions conseillées"),
    "segments.map.title": (
        "Cluster map: a sample of {count} customers",
        "Carte des segments : un échantillon de {count} clients",
    ),
    "segments.map.caption": (
        "Each dot is a customer; customers close together behave alike. The two axes summarise "
        "all the behaviour features ({share} of their variation).",
        "Chaque point est un client ; des clients proches se comportent de façon semblable. Les "
        "deux axes résument toutes les variables de comportement ({share} de leur variation).",
    ),
    "segments.map.x": ("Main behaviour axis 1 (no unit)", "Axe de comportement 1 (sans unité)"),
    "segments.map.y": ("Main behaviour axis 2 (no unit)", "Axe de comportement 2 (sans unité)"),
    "segments.rfm.title": (
        "RFM grid: buyers by recency and frequency-value",
        "Grille RFM : acheteurs par récence et fréquence-valeur",
    ),
    "segments.rfm.caption": (
        "Buyers in each cell (top right: bought recently, often and for much); each cell shows its RFM segment.",
        "Acheteurs de chaque case (en haut à droite : achat récent, fréquent et élevé) ; chaque case indique son segment RFM.",
    ),
    "segments.rfm.x": (
        "Frequency and value score (1 = low, 5 = high)",
        "Score fréquence et valeur (1 = faible, 5 = élevé)",
    ),
    "segments.rfm.y": (
        "Recency score (1 = long ago, 5 = recent)",
        "Score de récence (1 = ancien, 5 = récent)",
    ),
    # --- campaigns ---------------------------------------------------------------------------
    "campaigns.title": (
        "Campaigns: who to email, with what",
        "Campagnes : à qui écrire, avec quoi",
    ),
    "campaigns.intro": (
        "{count} personalised emails can go out across {campaigns} campaigns. Customers who opted out are never in these lists.",
        "{count} emails personnalisés peuvent partir sur {campaigns} campagnes. Les clients opposés à la personnalisation n'y figurent jamais.",
    ),
    "campaigns.sizes.title": (
        "Audience size per campaign and segment",
        "Taille d'audience par campagne et segment",
    ),
    "campaigns.sizes.caption": (
        "Eligible customers of each segment (rows) for each campaign (columns); darker = more customers.",
        "Clients éligibles de chaque segment (lignes) pour chaque campagne (colonnes) ; plus foncé = plus de clients.",
    ),
    "campaigns.axis.campaign": ("Campaign", "Campagne"),
    "campaigns.pick_campaign": ("Campaign", "Campagne"),
    "campaigns.pick_segment": ("Segment", "Segment"),
    "campaigns.all_segments": ("All segments", "Tous les segments"),
    "campaigns.customers.title": (
        "Customers, their 3 products and their purchase propensity",
        "Clients, leurs 3 produits et leur propension d'achat",
    ),
    "campaigns.customers.caption": (
        "{count} customers, most likely buyers first. Propensity = probability of buying in the next 30 days.",
        "{count} clients, les acheteurs les plus probables d'abord. Propension = probabilité d'acheter dans les 30 prochains jours.",
    ),
    "campaigns.preview.title": ("Email preview", "Aperçu de l'email"),
    "campaigns.preview.customer": ("Customer", "Client"),
    "campaigns.preview.subject": ("Subject: {name}", "Objet : {name}"),
    "campaigns.preview.greeting": ("Hello,", "Bonjour,"),
    "campaigns.preview.signature": ("The Amazing team", "L'équipe Amazing"),
    "campaigns.download.label": (
        "Download the emailing list (CSV)",
        "Télécharger la liste d'envoi (CSV)",
    ),
    "campaigns.download.caption": (
        "{count} rows for the emailing tool. The {excluded} customers who opted out or asked for erasure are never in it, nor the {held_out} of the campaign's control group (they receive nothing, to measure the uplift).",
        "{count} lignes pour l'outil d'emailing. Les {excluded} clients opposés à la personnalisation ou effacés n'y sont jamais, ni les {held_out} du groupe témoin de la campagne (ils ne reçoivent rien, pour mesurer l'effet).",
    ),
    # the emails' message (seed campaign_types holds the English; marketing writes French)
    "campaign.message.cart_recovery": (
        "Still thinking about it? Your picks, and a few like them.",
        "Vous hésitez encore ? Votre sélection, et quelques produits du même genre.",
    ),
    "campaign.message.cross_sell": (
        "Goes well with what you bought.",
        "Va bien avec ce que vous avez acheté.",
    ),
    "campaign.message.win_back": (
        "We have missed you: picked for you.",
        "Vous nous avez manqué : une sélection pour vous.",
    ),
    "campaign.message.first_purchase": (
        "Picked for you from what you looked at.",
        "Choisis pour vous d'après ce que vous avez regardé.",
    ),
    "campaigns.empty": (
        "No customer qualifies for this campaign and segment.",
        "Aucun client éligible pour cette campagne et ce segment.",
    ),
    # --- recommendations ---------------------------------------------------------------------
    "reco.title": (
        "Recommendations: do they work, and for whom?",
        "Recommandations : fonctionnent-elles, et pour qui ?",
    ),
    "reco.intro": (
        "The model in use is **{model}**: it scored best on the most recent weeks of data, which the models never saw while learning.",
        "Le modèle utilisé est **{model}** : il a obtenu le meilleur score sur les semaines les plus récentes, que les modèles n'avaient pas vues pendant l'apprentissage.",
    ),
    "reco.metric": ("Measure", "Mesure"),
    "reco.not_enough_evidence": (
        "Too few test customers to tell the models apart: popularity is used until there is enough evidence.",
        "Trop peu de clients de test pour départager les modèles : la popularité est utilisée en attendant assez de preuves.",
    ),
    "reco.models.title": (
        "{metric}: each model against the baselines",
        "{metric} : chaque modèle face aux références",
    ),
    "reco.models.caption": (
        "Higher is better; the thin lines are the 95 % intervals when the evaluation has them; the model in use is darker.",
        "Plus c'est haut, mieux c'est ; les traits fins sont les intervalles à 95 % quand l'évaluation les fournit ; le modèle utilisé est plus foncé.",
    ),
    "reco.session.title": (
        "Session recommendations (live, during a visit)",
        "Recommandations de session (en direct, pendant la visite)",
    ),
    "reco.session.caption": (
        "The same comparison for the models that react to the current visit.",
        "La même comparaison pour les modèles qui réagissent à la visite en cours.",
    ),
    "reco.bias.title": (
        "Bias audit: {metric} of the model in use by slice",
        "Audit de biais : {metric} du modèle utilisé par groupe",
    ),
    "reco.bias.caption": (
        "Whether some customer groups get worse recommendations than others (one bar per group).",
        "Si certains groupes de clients reçoivent de moins bonnes recommandations que d'autres (une barre par groupe).",
    ),
    "reco.axis.slice": ("Customer group", "Groupe de clients"),
    "reco.lookup.title": ("Customer lookup", "Recherche d'un client"),
    "reco.lookup.input": ("Customer id", "Identifiant client"),
    "reco.lookup.unknown": (
        "No recommendations for customer {user_id} in this build.",
        "Pas de recommandations pour le client {user_id} dans ce build.",
    ),
    "reco.lookup.history": ("History", "Historique"),
    "reco.lookup.history_line": (
        "Visits: {sessions} · orders: {orders} · spent: {revenue} · last seen on {last_seen}.",
        "Visites : {sessions} · commandes : {orders} · dépensé : {revenue} · vu pour la dernière fois le {last_seen}.",
    ),
    "reco.lookup.orders": ("Recent orders", "Commandes récentes"),
    "reco.lookup.list": ("Their list and why", "Sa liste et pourquoi"),
    "reco.lookup.opt_out": (
        "This customer opted out of personalisation: they get the popular products only.",
        "Ce client s'est opposé à la personnalisation : il ne reçoit que les produits populaires.",
    ),
    "reco.api.title": (
        "Live answer of the recommendation API",
        "Réponse en direct de l'API de recommandation",
    ),
    "reco.api.off": (
        "No API configured: set AMAZING_API_URL (e.g. http://127.0.0.1:8000) to see its live answer.",
        "Pas d'API configurée : définissez AMAZING_API_URL (ex. http://127.0.0.1:8000) pour voir sa réponse en direct.",
    ),
    "reco.api.error": (
        "The API at {url} did not answer: {error}",
        "L'API à {url} n'a pas répondu : {error}",
    ),
    "reco.api.answer": (
        "Model {model}, build {build_id}, personalised: {personalised}.",
        "Modèle {model}, build {build_id}, personnalisé : {personalised}.",
    ),
    # --- forecasts ---------------------------------------------------------------------------
    "forecasts.title": (
        "Forecasts: the next weeks' sales",
        "Prévisions : les ventes des prochaines semaines",
    ),
    "forecasts.intro": (
        "Pick a series and a measure; the chosen model is the one with the smallest error in the backtests.",
        "Choisissez une série et une mesure ; le modèle retenu est celui qui s'est le moins trompé sur le passé.",
    ),
    "forecasts.series": ("Series", "Série"),
    "forecasts.measure": ("Measure", "Mesure"),
    "forecasts.measure.revenue": ("Revenue ($)", "Chiffre d'affaires ($)"),
    "forecasts.measure.units": ("Units sold (number)", "Unités vendues (nombre)"),
    "forecasts.chart.title": (
        "{series}: last 90 days and forecast ({model})",
        "{series} : 90 derniers jours et prévision ({model})",
    ),
    "forecasts.chart.caption": (
        "The line is what was sold, the dashed line the forecast, the band where the actual value should fall 8 times in 10.",
        "La ligne montre les ventes réelles, les tirets la prévision, la bande où la valeur réelle devrait tomber 8 fois sur 10.",
    ),
    "forecasts.legend.actual": ("Actual", "Réel"),
    "forecasts.legend.forecast": ("Forecast", "Prévision"),
    "forecasts.backtest.title": (
        "Backtest error ({metric}) per model",
        "Erreur sur le passé ({metric}) par modèle",
    ),
    "forecasts.backtest.caption": (
        "Lower is better; the naive baselines (repeat last week, last value) are the bar to beat.",
        "Plus c'est bas, mieux c'est ; les références naïves (répéter la semaine passée, la dernière valeur) sont à battre.",
    ),
    "forecasts.importance.title": (
        "What drives the forecast ({model})",
        "Ce qui guide la prévision ({model})",
    ),
    "forecasts.importance.caption": (
        "How much the model relies on each input (longer bar = more influence).",
        "À quel point le modèle s'appuie sur chaque variable (barre plus longue = plus d'influence).",
    ),
    "forecasts.axis.error": ("{metric} (lower is better)", "{metric} (plus bas = mieux)"),
    "forecasts.axis.importance": (
        "Importance (the model's own measure, no unit)",
        "Importance (mesure propre au modèle, sans unité)",
    ),
    "forecasts.series.all": ("Whole shop", "Toute la boutique"),
    "reco.slice.all": ("All customers", "Tous les clients"),
    "reco.slice.segment": ("Segment", "Segment"),
    "reco.slice.price_band": ("Price band", "Gamme de prix"),
    "reco.slice.user_type": ("New or returning", "Nouveau ou fidèle"),
    "reco.slice.cold_start_products": ("New products", "Nouveaux produits"),
    "forecasts.no_series": (
        "No forecast for this series and measure.",
        "Pas de prévision pour cette série et cette mesure.",
    ),
    # --- data quality ------------------------------------------------------------------------
    "quality.title": (
        "Data quality: can we trust the figures?",
        "Qualité des données : peut-on se fier aux chiffres ?",
    ),
    "quality.intro": (
        "{input} input lines read; {kept} kept ({kept_share}), {quarantined} set aside with a reason, none lost.",
        "{input} lignes lues ; {kept} gardées ({kept_share}), {quarantined} mises de côté avec une raison, aucune perdue.",
    ),
    "quality.audit.title": (
        "The data audit: rows affected by each check",
        "L'audit des données : lignes concernées par chaque contrôle",
    ),
    "quality.audit.caption": (
        "How many rows each check found and what was done with them (table below).",
        "Combien de lignes chaque contrôle a trouvées et ce qui en a été fait (tableau ci-dessous).",
    ),
    "quality.files.title": ("Reconciliation per input file", "Réconciliation par fichier d'entrée"),
    "quality.files.caption": (
        "Per file: lines read = kept + set aside + duplicates dropped + erased (GDPR).",
        "Par fichier : lignes lues = gardées + mises de côté + doublons retirés + effacées (RGPD).",
    ),
    "quality.quarantine.title": (
        "Why lines were set aside, with examples",
        "Pourquoi des lignes ont été mises de côté, avec des exemples",
    ),
    "quality.quarantine.none": (
        "No line was set aside in this build.",
        "Aucune ligne mise de côté dans ce build.",
    ),
    "quality.quarantine.examples": ("Examples", "Exemples"),
    # --- models and privacy ------------------------------------------------------------------
    "privacy.title": ("Models and privacy", "Modèles et vie privée"),
    "privacy.intro": (
        "How good each model is, what drives it, and how customers' choices about their data are respected.",
        "La qualité de chaque modèle, ce qui le guide, et comment les choix des clients sur leurs données sont respectés.",
    ),
    "privacy.counts.title": ("Customers' choices", "Les choix des clients"),
    "privacy.opt_outs": ("Opted out of personalisation", "Opposés à la personnalisation"),
    "privacy.erasures": (
        "Erasure requests applied (lines removed)",
        "Demandes d'effacement appliquées (lignes supprimées)",
    ),
    "privacy.live": ("Requests since the last build", "Demandes depuis le dernier build"),
    "privacy.propensity.title": (
        "Purchase propensity: how good is it?",
        "Propension d'achat : quelle qualité ?",
    ),
    "privacy.propensity_importance.title": (
        "What drives the purchase propensity",
        "Ce qui guide la propension d'achat",
    ),
    "privacy.propensity_importance.caption": (
        "Mean effect of each feature on the predicted probability (SHAP); longer bar = more influence.",
        "Effet moyen de chaque variable sur la probabilité prédite (SHAP) ; barre plus longue = plus d'influence.",
    ),
    "privacy.axis.shap": ("Mean |SHAP| (effect on the score)", "|SHAP| moyen (effet sur le score)"),
    "privacy.segmentation.title": (
        "Segmentation: how many segments and how distinct",
        "Segmentation : combien de segments, et bien distincts ?",
    ),
    "privacy.forecast.title": (
        "Forecasting: error of the chosen models",
        "Prévision : erreur des modèles retenus",
    ),
    "privacy.reco.title": ("Recommendations: the evaluation", "Recommandations : l'évaluation"),
    "privacy.register.title": (
        "Processing register (GDPR art. 30)",
        "Registre des traitements (RGPD art. 30)",
    ),
    "privacy.register.missing": (
        "The processing register is not built yet (`processing_register`).",
        "Le registre des traitements n'est pas encore construit (`processing_register`).",
    ),
}

#: Column headers of the tables the dashboard shows.
COLUMNS: dict[str, tuple[str, str]] = {
    "segment_name": ("Segment", "Segment"),
    "customer_count": ("Customers", "Clients"),
    "customer_share": ("Share of customers", "Part des clients"),
    "buyer_share": ("Buyers", "Acheteurs"),
    "median_recency_days": (
        "Days since last visit (median)",
        "Jours depuis la dernière visite (médiane)",
    ),
    "median_order_count": ("Orders (median)", "Commandes (médiane)"),
    "median_buyer_revenue": ("Spend per buyer (median)", "Dépense par acheteur (médiane)"),
    "conversion_rate": ("Conversion rate", "Taux de conversion"),
    "revenue_share": ("Share of revenue", "Part du chiffre d'affaires"),
    "typical_price_band": ("Price band", "Gamme de prix"),
    "top_category_families": ("Favourite categories", "Catégories préférées"),
    "suggested_action": ("Suggested action", "Action conseillée"),
    "category_code": ("Category", "Catégorie"),
    "first_share": ("Share, first month", "Part, premier mois"),
    "last_share": ("Share, last month", "Part, dernier mois"),
    "revenue_share_index": ("Index (100 = unchanged)", "Indice (100 = inchangé)"),
    "product_id": ("Product", "Produit"),
    "performance_label": ("Label", "Étiquette"),
    "performance_reason": ("Why", "Pourquoi"),
    "revenue": ("Revenue", "Chiffre d'affaires"),
    "revenue_change": ("Revenue change", "Évolution du chiffre d'affaires"),
    "views": ("Views", "Vues"),
    "user_id": ("Customer", "Client"),
    "purchase_probability": ("Propensity", "Propension"),
    "product_1": ("Product 1", "Produit 1"),
    "product_2": ("Product 2", "Produit 2"),
    "product_3": ("Product 3", "Produit 3"),
    "rank": ("Rank", "Rang"),
    "reason": ("Why", "Pourquoi"),
    "product": ("Product", "Produit"),
    "price": ("Price", "Prix"),
    "ordered_at": ("Ordered at (UTC)", "Commandé le (UTC)"),
    "item_count": ("Items", "Articles"),
    "basket_value": ("Basket", "Panier"),
    "check_name": ("Check", "Contrôle"),
    "rows_affected": ("Rows", "Lignes"),
    "share": ("Share", "Part"),
    "action_taken": ("What was done", "Ce qui a été fait"),
    "source_file": ("File", "Fichier"),
    "input_rows": ("Lines read", "Lignes lues"),
    "clean_rows": ("Kept", "Gardées"),
    "quarantined_rows": ("Set aside", "Mises de côté"),
    "duplicate_rows": ("Duplicates dropped", "Doublons retirés"),
    "gdpr_erased_rows": ("Erased (GDPR)", "Effacées (RGPD)"),
    "reject_reason": ("Reason", "Raison"),
    "reject_description": ("What it means", "Signification"),
    "raw_line": ("Line as read", "Ligne lue"),
    "line_number": ("Line", "Ligne"),
    "lines": ("Lines", "Lignes"),
    "metric": ("Measure", "Mesure"),
    "value": ("Value", "Valeur"),
    "description": ("What it means", "Signification"),
    "k": ("Segments tried", "Segments essayés"),
    "silhouette": (
        "Separation (silhouette, higher is better)",
        "Séparation (silhouette, plus haut = mieux)",
    ),
    "stability_ari": ("Stability (1 = identical)", "Stabilité (1 = identique)"),
    "is_chosen": ("Chosen", "Retenu"),
    "model": ("Model", "Modèle"),
    "series_id": ("Series", "Série"),
    "measure": ("Measure", "Mesure"),
    "expected_units_horizon": ("Units expected (horizon)", "Unités attendues (horizon)"),
    "safety_stock": ("Safety stock", "Stock de sécurité"),
    "reorder_point": ("Reorder point", "Point de commande"),
    "reorder_quantity": ("Reorder quantity", "Quantité à commander"),
    "service_level": ("Target service level", "Niveau de service visé"),
    "achieved_service_level": ("Achieved (days)", "Atteint (jours)"),
    "lead_time_service_level": ("Achieved (lead times)", "Atteint (délais)"),
    "current_price": ("Price now", "Prix actuel"),
    "suggested_change": ("Suggested change", "Variation suggérée"),
    "suggested_price": ("Suggested price", "Prix suggéré"),
    "expected_revenue_delta": ("Expected revenue effect", "Effet attendu sur le CA"),
    "expected_revenue_delta_low": ("Effect, low", "Effet, bas"),
    "expected_revenue_delta_high": ("Effect, high", "Effet, haut"),
    "status": ("Status", "Statut"),
    "campaign_id": ("Campaign", "Campagne"),
    "campaign_type": ("Campaign", "Campagne"),
    "send_date": ("Sent on", "Envoyée le"),
    "treatment_users": ("Treated", "Traités"),
    "control_users": ("Control", "Témoins"),
    "treatment_conversion": ("Conversion, treated", "Conversion, traités"),
    "control_conversion": ("Conversion, control", "Conversion, témoins"),
    "uplift_absolute": ("Uplift", "Uplift"),
    "uplift_ci_low": ("Uplift, low", "Uplift, bas"),
    "uplift_ci_high": ("Uplift, high", "Uplift, haut"),
    "conversion_ratio": ("Ratio", "Ratio"),
    "ratio_ci_low": ("Ratio, low", "Ratio, bas"),
    "ratio_ci_high": ("Ratio, high", "Ratio, haut"),
    "p_value": ("p-value", "p-valeur"),
    "audience_users": ("Audience", "Audience"),
    "baseline_conversion": ("Expected conversion", "Conversion attendue"),
    "mde_absolute": ("Detectable effect (points)", "Effet détectable (points)"),
    "mde_relative": ("Detectable effect (relative)", "Effet détectable (relatif)"),
    "impressions": ("Impressions", "Affichages"),
    "clicks": ("Clicks", "Clics"),
    "purchases": ("Purchases", "Achats"),
    "click_through_rate": ("Click-through", "Taux de clic"),
    "mase": (
        "Error (MASE, lower is better; 1 = as good as naive)",
        "Erreur (MASE, plus bas = mieux ; 1 = comme la méthode naïve)",
    ),
}


def text(key: str, language: Language, **values: object) -> str:
    """The text of ``key`` in ``language``, placeholders filled.

    Raises:
        KeyError: an unknown key (a bug in a page, found by the tests).
    """
    english, french = TEXTS[key]
    template = english if language == "en" else _french_spacing(french)
    return template.format(**values) if values else template


def _french_spacing(template: str) -> str:
    """No-break spaces before ? ! ; : (French typography), so a line never starts with one."""
    for mark in ("?", "!", ";"):
        template = template.replace(f" {mark}", f"\u202f{mark}")
    return template.replace(" :", "\u00a0:")


#: Forecasting features in plain words; ``{n}`` is the number of days in the name.
FEATURE_PATTERNS: tuple[tuple[str, tuple[str, str]], ...] = (
    (r"y_lag_(\d+)", ("Sales {n} days before", "Ventes {n} jours avant")),
    (r"y_mean_(\d+)", ("Average sales, last {n} days", "Ventes moyennes, {n} derniers jours")),
    (r"views_lag_(\d+)", ("Product views {n} days before", "Vues de produits {n} jours avant")),
    (r"views_mean_(\d+)", ("Average views, last {n} days", "Vues moyennes, {n} derniers jours")),
    (
        r"price_index_mean_(\d+)",
        ("Price level, last {n} days", "Niveau de prix, {n} derniers jours"),
    ),
    (r"price_index", ("Price level", "Niveau de prix")),
    (r"day_of_week", ("Day of the week", "Jour de la semaine")),
    (r"week_of_year", ("Week of the year", "Semaine de l'année")),
    (r"month", ("Month", "Mois")),
    (r"horizon", ("Days ahead", "Jours à l'avance")),
    (r"series_code", ("Which series", "Quelle série")),
    (r"days_to_holiday", ("Days to the next holiday", "Jours avant le prochain férié")),
    (r"days_since_holiday", ("Days since the last holiday", "Jours depuis le dernier férié")),
    (r"is_holiday", ("Public holiday", "Jour férié")),
)


def feature_label(feature: str, language: Language) -> str:
    """A forecasting feature in plain words (its name when it has no pattern)."""
    for pattern, (english, french) in FEATURE_PATTERNS:
        match = re.fullmatch(pattern, feature)
        if match:
            template = english if language == "en" else french
            return template.format(n=match.group(1)) if match.groups() else template
    return feature


def column_label(column: str, language: Language) -> str:
    """The header of a mart column (the column name itself when it has no label)."""
    labels = COLUMNS.get(column)
    if labels is None:
        return column
    return labels[0] if language == "en" else labels[1]
