"""Generate the bundled sample datasets (deterministic: the same script always writes the same files).

    python examples/make_samples.py            # rewrites the three files next to this script

- support_tickets.csv   support tickets in English and Chinese, labelled billing / bug / account /
                        feature_request / shipping / refund (classification)
- summarize_news.jsonl  short news items with a one-sentence summary, English and Chinese (summarization);
                        like a real feed, a story often comes in several versions (update, brief, dateline)
- translate_en_zh.csv   English sentences with their Chinese translation (translation)

Each sample is built from families of paraphrases with varied details (products, order numbers, places,
numbers), so similar requests recur with consistent answers: the pattern a fine-tuned model learns.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20260601

PRODUCTS = [
    "wireless earbuds",
    "standing desk",
    "coffee grinder",
    "running shoes",
    "phone case",
    "desk lamp",
    "yoga mat",
    "backpack",
    "smart watch",
    "kettle",
    "air purifier",
    "keyboard",
]
PRODUCTS_ZH = [
    "无线耳机",
    "升降桌",
    "咖啡研磨机",
    "跑鞋",
    "手机壳",
    "台灯",
    "瑜伽垫",
    "双肩包",
    "智能手表",
    "电水壶",
    "空气净化器",
    "键盘",
]
DAYS = ["yesterday", "on Monday", "last week", "two days ago", "this morning", "on Friday"]
DAYS_ZH = ["昨天", "周一", "上周", "两天前", "今天早上", "周五"]
PLANS = ["Basic", "Plus", "Pro", "Family", "Team"]
CARRIERS = ["DHL", "UPS", "FedEx", "the post office", "SF Express"]

# label -> list of families; each family is a list of paraphrase templates (English and Chinese)
TICKETS: dict[str, list[list[str]]] = {
    "billing": [
        [
            "I was charged twice for order {order}.",
            "My card shows two payments for order {order}, please fix.",
            "Double charge on my credit card for the {product}!",
            "Why did you bill me twice for order {order}?",
            "订单{order}被重复扣款了，请处理。",
            "我的信用卡被扣了两次钱，订单号{order}。",
        ],
        [
            "My invoice for {month} has the wrong amount.",
            "The invoice total for {month} doesn't match my plan.",
            "Invoice {invoice} lists a price higher than the {plan} plan.",
            "{month_num}月的发票金额不对，请核实。",
            "发票{invoice}上的金额和我的套餐不符。",
        ],
        [
            "Can I get a VAT invoice for order {order}?",
            "Please send me a company invoice with our tax number.",
            "I need an official receipt for order {order} for my expenses.",
            "请给订单{order}开具增值税发票。",
            "麻烦开一张带公司税号的发票。",
        ],
        [
            "My subscription renewed at a higher price without notice.",
            "The {plan} plan price went up on renewal, why?",
            "You charged me the new price for the {plan} plan without telling me.",
            "续费的时候价格涨了，没有通知我。",
            "{plan}套餐自动续费多扣了钱。",
        ],
    ],
    "bug": [
        [
            "The app crashes when I open my order history.",
            "App keeps crashing on the order history page.",
            "Every time I tap 'My orders' the app closes.",
            "打开订单记录时应用闪退。",
            "一点“我的订单”应用就崩溃。",
        ],
        [
            "The checkout button does nothing on {browser}.",
            "I can't click 'Pay now' in {browser}, nothing happens.",
            "Checkout is broken in {browser}, the page just spins.",
            "在{browser}上点结算按钮没有反应。",
            "{browser}里支付页面一直转圈。",
        ],
        [
            "Search returns no results for '{product}' even though it is in stock.",
            "Searching for {product} shows nothing, but the product page exists.",
            "The search bar is broken: '{product}' gives zero results.",
            "搜索“{product_zh}”没有任何结果，但商品明明有货。",
            "搜索功能坏了，找不到{product_zh}。",
        ],
        [
            "I get error {code} when uploading a photo to my review.",
            "Photo upload fails with error {code}.",
            "Error {code} every time I attach an image to a review.",
            "上传评价图片时报错{code}。",
            "给评价加图片总是提示错误{code}。",
        ],
    ],
    "account": [
        [
            "I forgot my password and the reset email never arrives.",
            "Password reset link is not coming to my inbox.",
            "I requested a password reset {day} but got no email.",
            "忘记密码了，重置邮件一直收不到。",
            "{day_zh}申请了重置密码，但没有收到邮件。",
        ],
        [
            "How do I change the email address on my account?",
            "I want to update my login email.",
            "Please help me change the email linked to my account.",
            "怎么修改账户绑定的邮箱？",
            "我想更换登录邮箱。",
        ],
        [
            "Please delete my account and all my data.",
            "I want to close my account permanently.",
            "How can I remove my account and personal information?",
            "请注销我的账户并删除所有数据。",
            "我想永久关闭我的账号。",
        ],
        [
            "My account is locked after too many login attempts.",
            "I'm locked out of my account, it says too many tries.",
            "Account locked {day}, I still can't sign in.",
            "登录次数太多，账户被锁定了。",
            "{day_zh}开始账号被锁，无法登录。",
        ],
    ],
    "feature_request": [
        [
            "Could you add a dark mode to the app?",
            "Please add a dark theme, the white screen hurts at night.",
            "Any plans for dark mode?",
            "能不能给应用加一个深色模式？",
            "希望增加夜间模式。",
        ],
        [
            "It would be great to export my orders to a spreadsheet.",
            "Please add CSV export for order history.",
            "I'd like to download my purchase history as Excel.",
            "希望可以把订单导出成表格。",
            "请增加订单记录导出功能。",
        ],
        [
            "Please let me schedule deliveries for a specific time slot.",
            "Can you add delivery time windows?",
            "I want to choose the delivery hour at checkout.",
            "希望能预约具体的送货时间段。",
            "结算时能不能选择配送时间？",
        ],
        [
            "Add Apple Pay as a payment option, please.",
            "Will you support Apple Pay or Google Pay?",
            "Please offer more payment methods like Apple Pay.",
            "希望支持更多支付方式，比如Apple Pay。",
            "能不能加上微信支付？",
        ],
    ],
    "shipping": [
        [
            "Where is my order {order}? It was supposed to arrive {day}.",
            "Order {order} hasn't arrived, tracking hasn't moved since {day}.",
            "My {product} is late, the delivery date was {day}.",
            "订单{order}还没到，{day_zh}就应该送达了。",
            "我的{product_zh}物流信息{day_zh}之后就没更新。",
        ],
        [
            "The tracking number for order {order} doesn't work on {carrier}'s site.",
            "{carrier} says the tracking number for order {order} is invalid.",
            "Tracking code doesn't exist according to {carrier}.",
            "订单{order}的快递单号查不到信息。",
            "物流单号在快递官网上显示无效。",
        ],
        [
            "Can I change the delivery address for order {order}?",
            "I moved, please ship order {order} to my new address.",
            "Wrong address on order {order}, can you update it before it ships?",
            "订单{order}能修改收货地址吗？",
            "地址填错了，请在发货前帮我改一下。",
        ],
        [
            "The package arrived damaged, the {product} box was crushed.",
            "My {product} arrived broken in a crushed box.",
            "Parcel came damaged, the {product} is dented.",
            "快递到了但是包装破损，{product_zh}也坏了。",
            "收到的{product_zh}外包装被压坏了。",
        ],
    ],
    "refund": [
        [
            "I returned the {product} {day}, when will I get my refund?",
            "Still waiting for my refund for the returned {product}.",
            "Refund for order {order} hasn't shown up yet.",
            "{product_zh}已经退回了，退款什么时候到账？",
            "订单{order}的退款还没收到。",
        ],
        [
            "I want to return the {product}, it doesn't fit.",
            "How do I send back the {product} for a refund?",
            "Please start a return for order {order}, I changed my mind.",
            "{product_zh}不合适，我想退货。",
            "订单{order}想申请退货退款。",
        ],
        [
            "You refunded the wrong amount for order {order}.",
            "The refund for order {order} is less than I paid.",
            "Only part of my money came back for the returned {product}.",
            "订单{order}退款金额不对，少退了钱。",
            "退回的{product_zh}只退了一部分钱。",
        ],
    ],
}
LABEL_SHARE = {"billing": 1.0, "bug": 1.0, "account": 0.8, "feature_request": 0.6, "shipping": 1.2, "refund": 0.8}
BROWSERS = ["Safari", "Chrome", "Firefox", "Edge"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]


def _fill(template: str, rng: random.Random) -> str:
    index = rng.randrange(len(PRODUCTS))
    day = rng.randrange(len(DAYS))
    month = rng.randrange(len(MONTHS))
    return template.format(
        order=f"#{rng.randint(10000, 99999)}",
        invoice=f"INV-{rng.randint(1000, 9999)}",
        product=PRODUCTS[index],
        product_zh=PRODUCTS_ZH[index],
        day=DAYS[day],
        day_zh=DAYS_ZH[day],
        month=MONTHS[month],
        month_num=month + 1,
        plan=rng.choice(PLANS),
        carrier=rng.choice(CARRIERS),
        browser=rng.choice(BROWSERS),
        code=rng.choice(["E1001", "413", "500", "E2040"]),
    )


def _decorate(text: str, rng: random.Random) -> str:
    """Greetings and sign-offs real tickets carry."""
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in text)
    if chinese:
        head = rng.choice(["", "", "你好，", "您好，", "客服你好，"])
        tail = rng.choice(["", "", "谢谢！", "麻烦尽快处理。", "急！"])
    else:
        head = rng.choice(["", "", "Hi, ", "Hello, ", "Hi team, "])
        tail = rng.choice(["", "", " Thanks!", " Please help.", " Thank you."])
        if head and not text.startswith(("I ", "I'", "Order", "My", "Invoice", "SF", "Error")):
            text = text[0].lower() + text[1:]
    return head + text + tail


REPEATED_TICKETS = 3
# Tickets that use another label's words: what makes real ticket routing hard. Each appears once, so a
# model that only matches surface words gets some of them wrong.
MIXED_TICKETS = [
    ("The app crashed during checkout and now I see two charges on my card.", "billing"),
    ("Checkout froze, I paid anyway - please send the money back, I no longer want the order.", "refund"),
    ("I can't log in to download my invoice, the password reset link is broken.", "account"),
    ("The tracking page shows an error 500 every time I open it.", "bug"),
    ("Could you add an option to change the delivery address after ordering?", "feature_request"),
    ("My refund was approved but the parcel with the replacement never arrived.", "shipping"),
    ("After the update the app logs me out and asks me to pay again for my plan.", "bug"),
    ("Please delete my saved card, I was billed on an account I closed.", "account"),
    ("It would be great if refunds showed up in the order history.", "feature_request"),
    ("The courier returned my package as undeliverable, please refund the shipping fee.", "refund"),
    ("结账时应用闪退了，但信用卡被扣了两次。", "billing"),
    ("登录不了，没法下载发票，重置密码的链接也打不开。", "account"),
    ("物流页面一打开就报错500。", "bug"),
    ("希望下单后还能修改收货地址。", "feature_request"),
    ("退款批下来了，但补发的包裹一直没到。", "shipping"),
    ("快递把包裹退回了，请把运费退给我。", "refund"),
]


def support_tickets(path: Path, rng: random.Random, n: int = 480) -> None:
    labels = list(TICKETS)
    weights = [LABEL_SHARE[label] for label in labels]
    texts: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(texts) < n - REPEATED_TICKETS - len(MIXED_TICKETS):
        label = rng.choices(labels, weights)[0]
        text = _decorate(_fill(rng.choice(rng.choice(TICKETS[label])), rng), rng)
        key = "".join(ch for ch in text.lower() if ch.isalnum())
        if key not in seen:  # templates can collide; keep the repeats below deliberate and few
            seen.add(key)
            texts.append((text, label))
    for text, label in MIXED_TICKETS:
        texts.insert(rng.randrange(len(texts) + 1), (text, label))
    # A few customers send the same ticket twice, as they do: prepare reports and drops the copies.
    for original in rng.sample(range(len(texts)), REPEATED_TICKETS):
        texts.insert(rng.randrange(original + 1, len(texts) + 1), texts[original])
    rows = [(f"T{number:05d}", text, label) for number, (text, label) in enumerate(texts, start=1)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket_id", "text", "label"])
        writer.writerows(rows)


NEWS = [
    (
        "{company} reported quarterly revenue of {money} billion dollars on {weekday}, up {pct} percent from a year "
        "earlier. The company said demand for its {product} line stayed strong. Its shares rose in early trading.",
        "{company}'s quarterly revenue rose {pct}% to ${money} billion on strong {product} demand.",
    ),
    (
        "Heavy rain hit {city} on {weekday}, flooding several streets and delaying trains. Officials said {num} "
        "people were moved to shelters. More rain is expected over the weekend.",
        "Heavy rain flooded {city}, moving {num} people to shelters, with more rain expected.",
    ),
    (
        "{team_a} beat {team_b} {score} on {weekday} night. {player} scored twice in the second half. The win lifts "
        "{team_a} to the top of the league table.",
        "{team_a} beat {team_b} {score}, with two goals from {player}, and moved top of the league.",
    ),
    (
        "{company} launched a new {product} on {weekday}. It costs {price} dollars and goes on sale next month. The "
        "company says the battery lasts {num} hours.",
        "{company} unveiled a {price}-dollar {product} with a {num}-hour battery, on sale next month.",
    ),
    (
        "The city of {city} will open a new metro line on {weekday}. The line has {num} stations and cuts travel "
        "time to the airport by half. Tickets cost the same as on other lines.",
        "{city} opens a {num}-station metro line that halves the trip to the airport.",
    ),
    (
        "Scientists in {city} said on {weekday} they had found a new species of {animal}. The team spent {num} "
        "months in the field. The finding was published in a journal this week.",
        "Scientists in {city} found a new {animal} species after {num} months of fieldwork.",
    ),
]
NEWS_ZH = [
    (
        "{company_zh}{weekday_zh}公布季度营收{money}亿元，同比增长{pct}%。公司表示{product_zh}业务需求旺盛。公司股价早盘上涨。",
        "{company_zh}季度营收增长{pct}%至{money}亿元，{product_zh}需求旺盛。",
    ),
    (
        "{city_zh}{weekday_zh}遭遇强降雨，多条道路积水，列车延误。官方称已转移{num}人。周末还将有降雨。",
        "{city_zh}强降雨致道路积水，{num}人被转移，周末仍有雨。",
    ),
    (
        "{city_zh}新地铁线路将于{weekday_zh}开通，全线共{num}站，去机场的时间缩短一半，票价与其他线路相同。",
        "{city_zh}新开{num}站地铁线，去机场时间减半。",
    ),
    (
        "{company_zh}{weekday_zh}发布新款{product_zh}，售价{price}元，下月开售。公司称电池续航{num}小时。",
        "{company_zh}发布{price}元新款{product_zh}，续航{num}小时，下月开售。",
    ),
]
COMPANIES = ["Northwind", "Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Devices", "Vandelay", "Hooli"]
COMPANIES_ZH = ["北风科技", "青山集团", "星河电子", "远航公司", "蓝海智能", "华光数码"]
CITIES = [
    ("Lyon", "里昂"),
    ("Osaka", "大阪"),
    ("Porto", "波尔图"),
    ("Denver", "丹佛"),
    ("Hangzhou", "杭州"),
    ("Chengdu", "成都"),
    ("Leeds", "利兹"),
    ("Valencia", "瓦伦西亚"),
]
TEAMS = ["City Rovers", "Harbor United", "Red Lions", "North Stars", "Riverside FC", "Blue Eagles"]
PLAYERS = ["Sam Okafor", "Luis Prado", "Ken Ito", "Marta Silva", "Jon Berg"]
WEEKDAYS = [("Monday", "周一"), ("Tuesday", "周二"), ("Wednesday", "周三"), ("Thursday", "周四"), ("Friday", "周五")]
DEVICES = [("tablet", "平板电脑"), ("laptop", "笔记本电脑"), ("phone", "手机"), ("smart speaker", "智能音箱")]
ANIMALS = ["frog", "beetle", "orchid bee", "gecko", "moth"]


def _news_slots(rng: random.Random) -> dict[str, object]:
    city, city_zh = rng.choice(CITIES)
    weekday, weekday_zh = rng.choice(WEEKDAYS)
    device, device_zh = rng.choice(DEVICES)
    team_a, team_b = rng.sample(TEAMS, 2)
    return {
        "company": rng.choice(COMPANIES),
        "company_zh": rng.choice(COMPANIES_ZH),
        "city": city,
        "city_zh": city_zh,
        "weekday": weekday,
        "weekday_zh": weekday_zh,
        "product": device,
        "product_zh": device_zh,
        "money": rng.randint(2, 90),
        "pct": rng.randint(3, 40),
        "num": rng.randint(3, 60),
        "price": rng.choice([199, 299, 499, 899, 1299]),
        "team_a": team_a,
        "team_b": team_b,
        "player": rng.choice(PLAYERS),
        "score": f"{rng.randint(2, 4)}-{rng.randint(0, 1)}",
        "animal": rng.choice(ANIMALS),
    }


def _news_versions(article: str, chinese: bool, slots: dict[str, object], rng: random.Random) -> list[str]:
    """The versions of one story a news feed carries: the first report, an update that leads with a
    later detail, a short brief, a dateline copy. All of them share the story's one summary."""
    stop = "。" if chinese else ". "
    sentences = [part.strip().rstrip("。.") for part in article.split(stop) if part.strip()]
    end = "。" if chinese else "."
    join = "" if chinese else " "

    def text(parts: list[str]) -> str:
        return join.join(part + end for part in parts)

    reordered = [sentences[1], sentences[0], *sentences[2:]] if len(sentences) > 1 else sentences
    if chinese:
        candidates = [
            "【更新】" + text(reordered),
            "【简讯】" + text(sentences[:2]),
            f"【{slots['city_zh']}讯】" + text(sentences),
        ]
    else:
        candidates = [
            "Update: " + text(reordered),
            "In brief: " + text(sentences[:2]),
            f"{str(slots['city']).upper()} - " + text(sentences),
        ]
    return [text(sentences), *rng.sample(candidates, rng.choice([1, 1, 2]))]


def summarize_news(path: Path, rng: random.Random, n: int = 220) -> None:
    records: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(records) < n:
        slots = _news_slots(rng)
        chinese = rng.random() < 0.25
        article, summary = rng.choice(NEWS_ZH if chinese else NEWS)
        story = article.format(**slots)
        if story in seen:
            continue
        seen.add(story)
        for version in _news_versions(story, chinese, slots, rng):
            records.append({"article": version, "summary": summary.format(**slots)})
    rng.shuffle(records)
    with path.open("w", encoding="utf-8") as handle:
        for record in records[:n]:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


PHRASES = [
    ("Where is the {place}?", "{place}在哪里？"),
    ("How do I get to the {place}?", "去{place}怎么走？"),
    ("Is the {place} far from here?", "{place}离这里远吗？"),
    ("I would like {count} {item}, please.", "请给我{count}{item}。"),
    ("How much is the {item}?", "{item}多少钱？"),
    ("Do you have any {item} today?", "今天有{item}吗？"),
    ("The {place} opens at {hour} o'clock.", "{place}{hour}点开门。"),
    ("I will arrive at the {place} at {hour} o'clock.", "我{hour}点到{place}。"),
    ("My {person} is waiting at the {place}.", "我的{person}在{place}等着。"),
    ("Could you call my {person} for me?", "你能帮我给我的{person}打个电话吗？"),
    ("It is {weather} in {city} today.", "今天{city}{weather}。"),
    ("Will it be {weather} in {city} tomorrow?", "明天{city}会{weather}吗？"),
]
PLACES = [
    ("train station", "火车站"),
    ("airport", "机场"),
    ("hospital", "医院"),
    ("museum", "博物馆"),
    ("library", "图书馆"),
    ("bank", "银行"),
    ("hotel", "酒店"),
    ("supermarket", "超市"),
    ("park", "公园"),
]
ITEMS = [
    ("cups of tea", "杯茶", "tea", "茶"),
    ("bowls of noodles", "碗面条", "noodles", "面条"),
    ("bottles of water", "瓶水", "water", "水"),
    ("tickets", "张票", "ticket", "票"),
    ("apples", "个苹果", "apple", "苹果"),
]
PEOPLE = [("friend", "朋友"), ("mother", "妈妈"), ("colleague", "同事"), ("brother", "哥哥"), ("teacher", "老师")]
WEATHER = [("sunny", "晴天"), ("rainy", "下雨"), ("windy", "刮风"), ("cold", "很冷"), ("hot", "很热")]
COUNTS = [("two", "两"), ("three", "三"), ("four", "四"), ("five", "五")]


def translate_en_zh(path: Path, rng: random.Random, n: int = 260) -> None:
    seen: set[str] = set()
    rows = []
    while len(rows) < n:
        en, zh = rng.choice(PHRASES)
        place, place_zh = rng.choice(PLACES)
        item_plural, item_counted, item_single, item_zh = rng.choice(ITEMS)
        count, count_zh = rng.choice(COUNTS)
        person, person_zh = rng.choice(PEOPLE)
        weather, weather_zh = rng.choice(WEATHER)
        city, city_zh = rng.choice(CITIES)
        hour = rng.randint(6, 11)
        english = en.format(
            place=place,
            count=count,
            item=item_plural if "{count}" in en else item_single,
            hour=hour,
            person=person,
            weather=weather,
            city=city,
        )
        chinese = zh.format(
            place=place_zh,
            count=count_zh,
            item=item_counted if "{count}" in zh else item_zh,
            hour=hour,
            person=person_zh,
            weather=weather_zh,
            city=city_zh,
        )
        if english in seen:
            continue
        seen.add(english)
        rows.append((english, chinese))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["en", "zh"])
        writer.writerows(rows)


def main() -> None:
    support_tickets(HERE / "support_tickets.csv", random.Random(SEED))
    summarize_news(HERE / "summarize_news.jsonl", random.Random(SEED + 1))
    translate_en_zh(HERE / "translate_en_zh.csv", random.Random(SEED + 2))


if __name__ == "__main__":
    main()
