# Generates products.csv and queries.json beside this file: the judged test set of the product
# search (dangol bench search). Each product carries hand-assigned labels; each query names the
# labels it wants, so the judgments are written once per product and once per query.
#
# Relevance is judged by hand once per *product* (the `labels` column below, never exported),
# and once per *query* (the label expression in QUERIES). Each query's `relevant` list is then
# every product whose labels satisfy the expression, so judgments stay consistent across queries.
import csv
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

P = []


def add(name, category, brand, tags, desc, labels):
    P.append(dict(name=name, category=category, brand=brand, tags=tags, description=desc,
                  labels=set(labels.split())))


PERF = "뷰티 > 향수"
# --- perfume -------------------------------------------------------------------------------
add("플라워향수 오 드 퍼퓸 50ml", PERF, "메종드봄", "향수,플로럴,여성,선물", "봄꽃 향이 은은하게 퍼지는 여성 향수입니다.", "perfume edp floral women 50ml gift bom")
add("우디 향수 오 드 퍼퓸 100ml", PERF, "메종드봄", "향수,우디,남성", "샌달우드와 시더우드가 어우러진 묵직한 향.", "perfume edp woody men bom")
add("화이트 머스크 오 드 뚜왈렛 30ml", PERF, "메종드봄", "향수,머스크,데일리", "깨끗한 비누 향의 데일리 향수.", "perfume edt musk bom")
add("미니 향수 세트 5종", PERF, "메종드봄", "향수,미니,선물세트,gift set", "여행용으로 좋은 미니 사이즈 향수 5종 세트입니다.", "perfume mini giftset gift bom")
add("Rose Garden Eau de Parfum 50ml", PERF, "루미에르(Lumiere)", "perfume,rose,floral,향수", "A romantic floral perfume with fresh rose petals.", "perfume edp floral women 50ml rose lumiere")
add("Cedar Night Eau de Toilette", PERF, "루미에르(Lumiere)", "perfume,woody,men", "Warm woody fragrance for evenings.", "perfume edt woody men lumiere")
add("Citrus Splash Perfume 50ml", PERF, "루미에르(Lumiere)", "perfume,citrus,unisex", "Bright citrus scent for summer days.", "perfume citrus 50ml lumiere")
add("남성 향수 블랙 앰버 오 드 퍼퓸", PERF, "살롱드향", "향수,남자향수,앰버", "스모키한 앰버 노트의 남성용 향수.", "perfume edp men salon")
add("여성용 향수 피오니 블러쉬", PERF, "살롱드향", "향수,여자향수,플로럴", "작약 꽃잎을 담은 사랑스러운 플로럴 향수", "perfume floral women salon")
add("롤온 향수 라벤더 10ml", PERF, "살롱드향", "향수,롤온,휴대용", "휴대가 간편한 롤온 타입 향수입니다.", "perfume lavender mini salon")
add("고체향수 자스민", PERF, "살롱드향", "고체향수,향수,플로럴", "손목에 톡톡 바르는 고체 타입 향수", "perfume floral jasmine salon")
add("플로럴 부케 향수 50ml", PERF, "메종드봄", "향수,플로럴,꽃향기,여성", "장미와 프리지아가 가득한 꽃다발 같은 향", "perfume floral women 50ml bom")
add("샌달우드 우디향수 50ml", PERF, "살롱드향", "향수,우디,중성", "따뜻하고 부드러운 우디 계열 향수입니다.", "perfume woody 50ml salon")
add("향수 선물세트 (50ml + 핸드크림)", PERF, "메종드봄", "향수,선물세트,핸드크림,gift", "향수와 핸드크림을 함께 담은 선물 세트", "perfume giftset gift 50ml bom")
add("헤어 퍼퓸 미스트", PERF, "메종드봄", "헤어퍼퓸,헤어미스트", "머릿결에 뿌리는 가벼운 향기 미스트", "perfume hairperfume bom")
# perfume distractors
add("바디미스트 코튼 블루", "뷰티 > 바디케어", "메종드봄", "바디미스트,바디케어", "샤워 후 가볍게 뿌리는 바디 미스트", "bodycare bom")
add("향수 공병 아토마이저 5ml", "뷰티 > 뷰티소품", "살롱드향", "아토마이저,공병,휴대용", "향수를 소분해서 들고 다니는 휴대용 공병", "beautytool")
# --- home fragrance -------------------------------------------------------------------------
HOME = "리빙 > 홈프래그런스"
add("소이 향초 라벤더", HOME, "숲향기", "향초,캔들,소이캔들", "향수처럼 은은한 라벤더 향초입니다.", "candle homefrag lavender forest")
add("우드윅 향초 샌달우드", HOME, "숲향기", "향초,캔들,우드윅", "타닥타닥 소리가 나는 우드윅 캔들", "candle homefrag woody forest")
add("커피향 향초", HOME, "숲향기", "향초,캔들,커피향", "갓 내린 커피 향을 담은 캔들", "candle homefrag forest")
add("Scented Candle Gift Set 3p", HOME, "숲향기", "candle,candles,향초,gift set,선물세트", "Three scented candles in a gift box.", "candle homefrag giftset gift forest")
add("리드 디퓨저 200ml 블랙체리", HOME, "숲향기", "디퓨저,방향제,실내", "거실과 현관에 두기 좋은 대용량 디퓨저", "diffuser homefrag forest")
add("디퓨저 리필액 500ml", HOME, "숲향기", "디퓨저,리필", "디퓨저 오일 리필용 대용량", "diffuser homefrag forest")
add("차량용 방향제 클립형", HOME, "숲향기", "방향제,차량용,자동차", "차 송풍구에 꽂는 클립형 방향제", "homefrag car forest")
add("룸스프레이 화이트티", HOME, "숲향기", "룸스프레이,패브릭", "침구와 커튼에 뿌리는 섬유 탈취 스프레이", "homefrag forest")
add("향초 선물세트 미니 4종", HOME, "메종드봄", "향초,캔들,선물세트,선물", "집들이 선물로 좋은 미니 향초 4종 세트", "candle homefrag giftset gift bom")
# --- chocolate ------------------------------------------------------------------------------
CHOC = "식품 > 초콜릿"
add("다크초콜릿 선물세트 12구", CHOC, "카카오공방", "초콜릿,다크,선물세트,선물", "카카오 70% 다크초콜릿 12구 선물 세트", "chocolate dark giftset gift cacao")
add("밀크 초콜릿 바 100g", CHOC, "카카오공방", "초콜릿,밀크초콜릿,간식", "부드럽고 달콤한 밀크 초콜릿", "chocolate milkchoc cacao")
add("수제 생초콜릿 9구", CHOC, "카카오공방", "생초콜릿,수제,초콜릿", "입에서 사르르 녹는 수제 생초콜릿", "chocolate handmade cacao")
add("녹차 초콜릿 바", CHOC, "카카오공방", "녹차,말차,초콜릿", "제주 녹차를 넣은 화이트 초콜릿", "chocolate greentea_flavor cacao")
add("Dark Chocolate Truffle Box 16p", CHOC, "Choco Atelier", "chocolate,truffle,초콜릿,gift", "Handmade dark chocolate truffles in a gift box.", "chocolate dark gift truffle atelier")
add("Milk Chocolate Almonds 200g", CHOC, "Choco Atelier", "chocolate,almond,snack", "Roasted almonds coated with milk chocolate.", "chocolate milkchoc atelier")
add("초콜릿 선물 세트 하트 박스", CHOC, "카카오공방", "초콜릿,발렌타인,선물", "발렌타인데이 하트 박스 초콜릿 선물 세트", "chocolate giftset gift cacao")
add("카카오닙스 다크 초콜릿 85%", CHOC, "카카오공방", "다크초콜릿,고카카오,초콜릿", "쌉싸름한 고함량 카카오 초콜릿", "chocolate dark cacao")
add("쿠키앤크림 초콜릿 바", CHOC, "카카오공방", "초콜릿,쿠키,간식", "바삭한 쿠키가 들어간 화이트 초콜릿", "chocolate cacao")
add("초코 웨하스 10봉", "식품 > 과자", "카카오공방", "초코,과자,간식", "바삭한 웨하스에 초코 크림을 가득", "snack chocosnack cacao")
add("초코칩 쿠키 6개입", "식품 > 과자", "카카오공방", "쿠키,초코칩,베이커리", "초코칩이 콕콕 박힌 수제 쿠키", "snack chocosnack cacao")
add("핫초코 파우더 스틱 20개입", "식품 > 음료", "카카오공방", "핫초코,코코아,음료", "따뜻한 우유에 타 먹는 코코아", "drink chocodrink cacao")
add("트러플 초콜릿 선물세트", CHOC, "Choco Atelier", "초콜릿,트러플,선물세트", "고급스러운 트러플 초콜릿 선물세트입니다.", "chocolate giftset gift truffle atelier")
# --- cosmetics ------------------------------------------------------------------------------
SKIN = "뷰티 > 스킨케어"
SUN = "뷰티 > 선케어"
MAKE = "뷰티 > 메이크업"
add("BB크림 내추럴 베이지 SPF30", MAKE, "닥터수분", "BB크림,비비크림,베이스", "커버력과 촉촉함을 모두 잡은 BB 크림", "bb makeup cream drsoo")
add("CC크림 톤업 베이스", MAKE, "닥터수분", "CC크림,씨씨크림,톤업", "피부 톤을 화사하게 정돈하는 CC 크림", "cc makeup cream drsoo")
add("Perfect Cover BB Cream", MAKE, "Lumiere", "bb cream,비비크림,makeup", "Lightweight BB cream with sun protection.", "bb makeup cream lumiere")
add("쿠션 팩트 21호", MAKE, "닥터수분", "쿠션,팩트,베이스", "촉촉한 물광 쿠션 팩트", "makeup drsoo")
add("수분크림 히알루론 50ml", SKIN, "닥터수분", "수분크림,보습,히알루론산", "하루 종일 촉촉한 고보습 수분크림", "moist cream skincare 50ml drsoo")
add("수분 가득 젤크림", SKIN, "닥터수분", "수분크림,젤크림,지성", "산뜻하게 흡수되는 젤 타입 수분 크림", "moist cream skincare drsoo")
add("Aqua Moisture Cream", SKIN, "Lumiere", "moisturizer,cream,수분크림", "Deep hydration cream for dry skin.", "moist cream skincare lumiere")
add("수분 토너 300ml", SKIN, "닥터수분", "토너,스킨,수분", "피부결을 정돈하는 수분 토너", "moist toner skincare drsoo")
add("수분 앰플 세럼 30ml", SKIN, "닥터수분", "세럼,앰플,수분", "건조한 피부에 수분을 채워주는 세럼", "moist serum skincare drsoo")
add("아이크림 레티놀", SKIN, "닥터수분", "아이크림,주름개선", "눈가 주름 개선 기능성 아이크림", "eyecream cream skincare drsoo")
add("시카 진정 크림", SKIN, "닥터수분", "시카,진정크림,민감성", "붉어진 피부를 진정시키는 시카 크림", "cream skincare drsoo")
add("핸드크림 시어버터 50ml", "뷰티 > 바디케어", "메종드봄", "핸드크림,보습", "끈적임 없이 촉촉한 핸드크림", "handcream cream bodycare 50ml bom")
add("핸드크림 3종 선물세트", "뷰티 > 바디케어", "메종드봄", "핸드크림,선물세트,선물", "향이 좋은 핸드크림 3종 세트", "handcream cream bodycare giftset gift bom")
add("Hand Cream Trio Gift Set", "뷰티 > 바디케어", "Lumiere", "hand cream,gift set,핸드크림", "Three travel hand creams.", "handcream cream bodycare giftset gift lumiere")
add("톤업 선크림 SPF50+", SUN, "선데이", "선크림,톤업,자외선차단", "백탁 없이 화사한 톤업 선크림", "suncare sunscreen cream sunday")
add("무기자차 선크림 50ml", SUN, "선데이", "선크림,무기자차,민감성", "순한 무기자차 선크림입니다.", "suncare sunscreen cream 50ml sunday")
add("선스틱 워터프루프", SUN, "선데이", "선스틱,자외선차단,야외", "덧바르기 편한 스틱형 자외선 차단제", "suncare sunscreen sunday")
add("선쿠션 SPF50", SUN, "선데이", "선쿠션,자외선차단", "메이크업 위에 덧바르는 선 쿠션", "suncare sunscreen sunday")
add("Daily Sunscreen SPF50", SUN, "Lumiere", "sunscreen,sun cream,선크림", "Light daily sunscreen, no white cast.", "suncare sunscreen cream lumiere")
add("애프터선 수딩젤", SUN, "선데이", "수딩젤,알로에,진정", "햇볕에 달아오른 피부를 진정", "suncare sunday")
add("수분 마스크팩 10매", SKIN, "닥터수분", "마스크팩,시트마스크,수분", "하루 한 장 수분 충전 시트 마스크", "moist maskpack skincare drsoo")
add("진정 마스크팩 시카 5매", SKIN, "닥터수분", "마스크팩,진정", "예민한 피부를 위한 진정 마스크", "maskpack skincare drsoo")
add("립밤 무향", MAKE, "닥터수분", "립밤,립케어,보습", "건조한 입술을 위한 무향 립밤", "lipbalm drsoo")
add("초콜릿 향 립밤", MAKE, "메종드봄", "립밤,초콜릿향", "달콤한 초콜릿 향이 나는 립밤", "lipbalm bom")
add("매트 립스틱 로즈", MAKE, "Lumiere", "립스틱,립,로즈", "건조하지 않은 매트 립스틱", "lipstick makeup lumiere")
add("클렌징폼 약산성", SKIN, "닥터수분", "클렌징폼,세안", "약산성으로 순하게 씻어내는 폼", "cleanser skincare drsoo")
add("아이섀도 팔레트 9색", MAKE, "Lumiere", "아이섀도,섀도,팔레트", "데일리 음영 아이섀도 팔레트", "makeup lumiere")
add("바디로션 코코넛", "뷰티 > 바디케어", "메종드봄", "바디로션,보습", "코코넛 향 바디로션", "bodycare bom")
# --- shoes ----------------------------------------------------------------------------------
SHOE = "패션 > 신발"
add("Running Shoe Air Light", SHOE + " > 러닝화", "Stride", "running shoes,러닝화,운동화", "Lightweight running shoe with breathable mesh.", "shoe running_shoe sneaker stride")
add("Trail Running Shoes", SHOE + " > 러닝화", "Stride", "running,trail,shoes", "Grippy outsole for trail runs.", "shoe running_shoe sneaker stride")
add("달리다 러닝화 쿠셔닝 플러스", SHOE + " > 러닝화", "달리다", "러닝화,마라톤,운동화", "발이 편한 쿠셔닝 러닝화입니다.", "shoe running_shoe sneaker dallida")
add("초경량 러닝화 여성용", SHOE + " > 러닝화", "달리다", "러닝화,여성,운동화", "가볍게 달리기 좋은 여성용 러닝화", "shoe running_shoe sneaker women dallida")
add("데일리 운동화 화이트", SHOE + " > 운동화", "달리다", "운동화,스니커즈,데일리", "어디에나 어울리는 흰 운동화", "shoe sneaker dallida")
add("캔버스 스니커즈 블랙", SHOE + " > 운동화", "Stride", "스니커즈,운동화,캔버스,sneakers", "Classic canvas sneakers.", "shoe sneaker stride")
add("키즈 운동화 벨크로", SHOE + " > 키즈신발", "꼬마숲", "키즈,아동화,운동화,어린이", "신고 벗기 쉬운 벨크로 아동 운동화", "shoe sneaker kids kidshoe kkoma")
add("어린이 샌들 여름용", SHOE + " > 키즈신발", "꼬마숲", "어린이,샌들,아동화,키즈", "물놀이에도 좋은 어린이 샌들", "shoe kids kidshoe sandal kkoma")
add("워킹화 메모리폼", SHOE + " > 운동화", "달리다", "워킹화,운동화,걷기", "오래 걸어도 편한 메모리폼 워킹화", "shoe sneaker dallida")
add("가죽 로퍼 브라운", SHOE + " > 구두", "Stride", "로퍼,구두,가죽,loafers", "Genuine leather loafers.", "shoe formal stride")
add("여성 구두 5cm 펌프스", SHOE + " > 구두", "Stride", "구두,펌프스,여성", "출근룩에 어울리는 베이직 펌프스", "shoe formal women stride")
add("Leather Dress Shoes", SHOE + " > 구두", "Stride", "dress shoes,구두,men", "Oxford leather shoes for men.", "shoe formal men stride")
add("욕실 슬리퍼", "리빙 > 욕실", "데일리홈", "슬리퍼,욕실화", "물빠짐이 좋은 욕실 슬리퍼", "living")
add("Shoe Cleaner Kit", "패션 > 신발용품", "Stride", "shoe care,cleaner,신발세탁", "Foam cleaner and brush for sneakers.", "shoecare stride")
add("신발 깔창 쿠션 인솔", "패션 > 신발용품", "달리다", "깔창,인솔,신발", "발의 피로를 줄여주는 쿠션 인솔", "shoecare dallida")
add("러닝 양말 3켤레", "패션 > 양말", "포근", "러닝,스포츠양말,양말", "땀 흡수가 빠른 러닝 전용 양말", "socks running_gear pogeun")
add("운동복 트레이닝 세트", "패션 > 스포츠웨어", "달리다", "운동복,트레이닝복,세트", "러닝과 홈트에 좋은 트레이닝 세트", "sportswear running_gear dallida")
# --- coffee ---------------------------------------------------------------------------------
COF = "식품 > 커피"
add("에티오피아 예가체프 원두 500g", COF + " > 원두", "원두상회", "원두,커피,싱글오리진", "꽃향과 산미가 살아있는 예가체프 원두", "coffee beans wondu")
add("콜롬비아 수프리모 원두 1kg", COF + " > 원두", "원두상회", "원두,커피,대용량", "고소하고 밸런스 좋은 원두", "coffee beans wondu")
add("디카페인 원두 200g", COF + " > 원두", "원두상회", "디카페인,원두,커피", "밤에도 부담 없는 디카페인 커피", "coffee beans decaf wondu")
add("드립백 커피 20개입", COF + " > 드립백", "원두상회", "드립백,커피,간편", "컵에 걸어 내려 마시는 드립백 커피", "coffee drip wondu")
add("콜드브루 원액 500ml", COF, "원두상회", "콜드브루,커피,더치", "물이나 우유에 희석해 마시는 콜드브루", "coffee coldbrew wondu")
add("캡슐커피 네스프레소 호환 30개", COF, "원두상회", "캡슐,커피,캡슐커피", "네스프레소 호환 캡슐 커피", "coffee capsule wondu")
add("Espresso Blend Coffee Beans 1kg", COF + " > 원두", "Bean Club", "coffee,beans,espresso,원두", "Dark roast espresso blend.", "coffee beans beanclub")
add("커피 선물세트 드립백 + 원두", COF, "원두상회", "커피,선물세트,선물", "드립백과 원두를 함께 담은 커피 선물세트", "coffee beans drip giftset gift wondu")
add("커피 드리퍼 세라믹", "리빙 > 주방", "원두상회", "드리퍼,핸드드립,커피용품", "핸드드립용 세라믹 드리퍼", "coffeetool kitchen wondu")
add("머그컵 400ml", "리빙 > 주방", "데일리홈", "머그컵,컵,커피잔", "커피나 차를 담기 좋은 머그", "kitchen mug")
add("스테인리스 텀블러 500ml", "리빙 > 주방", "데일리홈", "텀블러,보온,보냉", "보온 보냉이 뛰어난 텀블러", "kitchen tumbler")
add("Travel Tumbler 350ml", "리빙 > 주방", "Bean Club", "tumbler,travel mug,텀블러", "Leak-proof travel tumbler.", "kitchen tumbler beanclub")
add("카페라떼 스틱 커피믹스 100T", COF, "원두상회", "커피믹스,라떼,스틱", "달콤한 카페라떼 믹스", "coffee coffeemix wondu")
# --- tea ------------------------------------------------------------------------------------
TEA = "식품 > 차"
add("제주 유기농 녹차 티백 50개", TEA + " > 녹차", "초록잎", "녹차,티백,유기농", "제주에서 자란 유기농 녹차", "tea greentea teabag chorok")
add("우전 녹차 잎차 50g", TEA + " > 녹차", "초록잎", "녹차,잎차,우전", "첫물 찻잎으로 만든 우전 녹차", "tea greentea looseleaf chorok")
add("녹차 라떼 파우더", TEA, "초록잎", "녹차라떼,말차,파우더", "우유에 타 먹는 녹차 라떼", "tea greentea chorok")
add("얼그레이 홍차 티백 20개", TEA + " > 홍차", "초록잎", "홍차,얼그레이,티백", "베르가못 향 가득한 얼그레이", "tea blacktea earlgrey teabag chorok")
add("Earl Grey Tea 100g", TEA + " > 홍차", "Tea Garden", "tea,black tea,earl grey,홍차", "Classic loose leaf Earl Grey.", "tea blacktea earlgrey looseleaf teagarden")
add("다즐링 홍차 잎차", TEA + " > 홍차", "초록잎", "홍차,다즐링,잎차", "머스캣 향의 다즐링 홍차", "tea blacktea looseleaf chorok")
add("로열 밀크티 파우더", TEA, "초록잎", "밀크티,홍차,파우더", "진한 홍차로 만든 밀크티", "tea blacktea chorok")
add("캐모마일 허브티 티백", TEA + " > 허브차", "초록잎", "캐모마일,허브티,티백,디카페인", "잠들기 전 마시기 좋은 허브티", "tea herbal teabag chorok")
add("Chamomile Herbal Tea 20 bags", TEA + " > 허브차", "Tea Garden", "herbal tea,chamomile,허브티", "Calming caffeine-free herbal tea.", "tea herbal teabag teagarden")
add("루이보스 티 티백 30개", TEA + " > 허브차", "초록잎", "루이보스,허브티,티백", "카페인 없는 루이보스 차", "tea herbal teabag chorok")
add("보이차 숙차 100g", TEA, "초록잎", "보이차,발효차", "깊고 부드러운 맛의 보이차", "tea chorok")
add("유자차 1kg", TEA + " > 과일청", "초록잎", "유자차,유자청,겨울", "고흥 유자로 만든 달콤한 유자차", "tea fruittea chorok")
add("티 선물세트 5종", TEA, "초록잎", "차,선물세트,티백,선물", "녹차 홍차 허브티 5종을 담은 선물세트", "tea giftset gift teabag greentea blacktea herbal chorok")
add("보리차 티백 30개", TEA, "초록잎", "보리차,티백,구수한", "끓여 마시는 구수한 보리차", "tea teabag chorok")
# --- bags -----------------------------------------------------------------------------------
BAG = "패션잡화 > 가방"
add("캔버스 에코백 아이보리", BAG, "데일리백", "에코백,캔버스백,장바구니", "넉넉한 수납의 데일리 에코백", "bag ecobag dailybag")
add("일러스트 에코백 고양이", BAG, "데일리백", "에코백,고양이,일러스트", "귀여운 고양이 그림이 그려진 에코백", "bag ecobag dailybag")
add("데일리 백팩 15인치", BAG, "데일리백", "백팩,노트북가방,통학", "노트북 수납이 가능한 데일리 백팩", "bag backpack dailybag")
add("Leather Tote Bag Brown", BAG, "Stride", "tote bag,leather,토트백", "Soft leather tote for everyday use.", "bag tote stride")
add("나일론 토트백", BAG, "데일리백", "토트백,나일론,가벼운", "가볍고 튼튼한 나일론 토트", "bag tote dailybag")
add("미니 크로스백", BAG, "데일리백", "크로스백,미니백,숄더백", "휴대폰과 지갑이 쏙 들어가는 크로스백", "bag crossbag dailybag")
add("키즈 백팩 공룡", BAG, "꼬마숲", "키즈,백팩,유치원가방,어린이", "유치원생을 위한 공룡 백팩", "bag backpack kids kkoma")
add("Canvas Backpack Navy", BAG, "Stride", "backpack,bag,백팩", "Water-resistant canvas backpack.", "bag backpack stride")
add("장지갑 가죽", "패션잡화 > 지갑", "데일리백", "지갑,장지갑,가죽", "카드와 지폐를 넉넉히 수납", "wallet dailybag")
add("화장품 파우치", "패션잡화 > 파우치", "데일리백", "파우치,화장품파우치,여행", "립스틱과 쿠션을 담는 파우치", "pouch dailybag")
add("가방 고리 키링", "패션잡화 > 액세서리", "데일리백", "키링,가방고리,참", "가방에 다는 귀여운 키링", "keyring dailybag")
# --- socks ----------------------------------------------------------------------------------
SOCK = "패션 > 양말"
add("데일리 양말 5켤레 세트", SOCK, "포근", "양말,세트,데일리", "매일 신기 좋은 면 양말 세트", "socks pogeun")
add("수면양말 극세사", SOCK, "포근", "수면양말,겨울,보온", "발이 따뜻한 극세사 수면양말", "socks sleepsocks pogeun")
add("페이크삭스 덧신 10켤레", SOCK, "포근", "덧신,페이크삭스,양말", "벗겨지지 않는 실리콘 덧신", "socks pogeun")
add("Ankle Socks 6 pairs", SOCK, "Stride", "socks,ankle socks,양말", "Breathable cotton ankle socks.", "socks stride")
add("유아 양말 미끄럼방지", SOCK, "꼬마숲", "유아,아기양말,양말,미끄럼방지", "바닥에 미끄럼방지 처리된 아기 양말", "socks kids baby kkoma")
add("울 등산양말", SOCK, "포근", "등산양말,울,아웃도어", "두툼한 울 소재 등산 양말", "socks pogeun")
add("수면 안대", "리빙 > 침실", "포근", "안대,수면,숙면", "빛을 차단하는 부드러운 수면 안대", "living sleep pogeun")
# --- kids / baby ----------------------------------------------------------------------------
KID = "유아동"
add("아기 로션 200ml", KID + " > 스킨케어", "꼬마숲", "아기로션,유아,보습", "연약한 아기 피부를 위한 순한 로션", "kids baby kidsskin kkoma")
add("유아 수딩 크림", KID + " > 스킨케어", "꼬마숲", "유아크림,아기크림,보습", "건조한 아기 피부를 위한 크림", "kids baby kidsskin cream kkoma")
add("어린이 치약 딸기맛", KID + " > 구강", "꼬마숲", "어린이치약,키즈", "불소 저함량 딸기맛 어린이 치약", "kids kkoma")
add("아기 물티슈 100매 10팩", KID + " > 위생", "꼬마숲", "물티슈,아기,유아", "무향 저자극 아기 물티슈", "kids baby kkoma")
add("유아 실리콘 식판", KID + " > 식기", "꼬마숲", "식판,유아식기,아기", "흡착형 실리콘 유아 식판", "kids baby kkoma")
add("원목 블록 장난감 50pcs", KID + " > 장난감", "꼬마숲", "블록,원목장난감,장난감,어린이", "손가락 힘을 길러주는 원목 블록", "kids toy kkoma")
add("어린이 그림책 세트 10권", KID + " > 도서", "꼬마숲", "그림책,동화책,어린이", "잠자리에서 읽어주는 그림책", "kids book kkoma")
add("아기 턱받이 3종", KID + " > 위생", "꼬마숲", "턱받이,아기,유아", "방수 소재 아기 턱받이", "kids baby kkoma")
add("어린이 우산 노랑", KID, "꼬마숲", "우산,어린이,키즈", "눈에 잘 띄는 노란 어린이 우산", "kids kkoma")
add("Kids Rain Boots", SHOE + " > 키즈신발", "꼬마숲", "kids,boots,장화,키즈", "Waterproof rain boots for kids.", "shoe kids kidshoe kkoma")
add("아이 간식 쌀과자", "식품 > 과자", "꼬마숲", "쌀과자,유아간식,아기과자", "아이가 좋아하는 바삭한 쌀과자", "kids baby snack kkoma")
# --- pet ------------------------------------------------------------------------------------
PET = "반려동물"
add("강아지 사료 연어 2kg", PET + " > 강아지 > 사료", "멍냥", "강아지사료,사료,연어", "소화가 잘 되는 연어 강아지 사료", "pet dog petfood mn")
add("소형견 사료 양고기 1.5kg", PET + " > 강아지 > 사료", "멍냥", "사료,소형견,강아지", "작은 강아지를 위한 소형견 전용 사료", "pet dog petfood mn")
add("고양이 사료 치킨 1.5kg", PET + " > 고양이 > 사료", "멍냥", "고양이사료,사료,치킨", "기호성 좋은 치킨 고양이 사료", "pet cat petfood mn")
add("캣 사료 인도어 2kg", PET + " > 고양이 > 사료", "멍냥", "캣사료,사료,실내묘,고양이", "실내에서 지내는 고양이를 위한 사료", "pet cat petfood mn")
add("Grain Free Cat Food 2kg", PET + " > 고양이 > 사료", "Happy Paws", "cat food,grain free,고양이사료", "Grain-free dry food for adult cats.", "pet cat petfood paws")
add("Dog Food Lamb & Rice 3kg", PET + " > 강아지 > 사료", "Happy Paws", "dog food,강아지사료", "Complete dry food for adult dogs.", "pet dog petfood paws")
add("강아지 간식 오리 육포", PET + " > 강아지 > 간식", "멍냥", "강아지간식,육포,간식", "오리고기 100% 수제 육포 간식", "pet dog dogtreat mn")
add("강아지 덴탈껌 30개입", PET + " > 강아지 > 간식", "멍냥", "덴탈껌,간식,강아지", "치석 관리에 좋은 강아지 덴탈 껌", "pet dog dogtreat mn")
add("고양이 간식 츄르 참치 20개", PET + " > 고양이 > 간식", "멍냥", "고양이간식,츄르,짜먹는간식", "짜 먹는 참치 고양이 간식", "pet cat cattreat mn")
add("고양이 모래 벤토나이트 10kg", PET + " > 고양이 > 모래", "멍냥", "고양이모래,모래,벤토나이트", "먼지 적은 벤토나이트 고양이 모래", "pet cat mn")
add("고양이 스크래쳐 골판지", PET + " > 고양이 > 장난감", "멍냥", "스크래쳐,고양이장난감", "발톱 관리에 좋은 골판지 스크래쳐", "pet cat pettoy mn")
add("강아지 터그 장난감", PET + " > 강아지 > 장난감", "멍냥", "강아지장난감,터그,장난감", "당기기 놀이용 튼튼한 터그", "pet dog pettoy mn")
add("강아지 샴푸 저자극", PET + " > 강아지 > 위생", "멍냥", "강아지샴푸,샴푸,목욕", "민감한 피부를 위한 저자극 강아지 샴푸", "pet dog mn")
add("Dog Treats Chicken Jerky", PET + " > 강아지 > 간식", "Happy Paws", "dog treats,jerky,강아지간식", "Single-ingredient chicken jerky treats.", "pet dog dogtreat paws")
add("고양이 모양 머그컵", "리빙 > 주방", "데일리홈", "머그컵,고양이,캐릭터", "고양이 귀가 달린 귀여운 머그컵", "kitchen mug")
# --- living / misc --------------------------------------------------------------------------
add("호텔 수건 40수 5장", "리빙 > 욕실", "데일리홈", "수건,타월,호텔수건", "부드럽고 흡수력 좋은 호텔 수건", "living")
add("핸드워시 라벤더 500ml", "리빙 > 욕실", "메종드봄", "핸드워시,손세정제", "라벤더 향의 거품 핸드워시", "living lavender bom")
add("장우산 자동", "리빙 > 생활용품", "데일리홈", "우산,장우산,자동우산", "버튼 하나로 펴지는 자동 장우산", "living")
add("캠핑 의자 접이식", "리빙 > 캠핑", "데일리홈", "캠핑의자,캠핑,접이식", "가볍게 접히는 캠핑 의자", "living")
add("수분 보충 이온음료 분말", "식품 > 음료", "데일리홈", "이온음료,분말,운동", "운동 후 수분 보충에 좋은 분말", "drink")
add("선물 포장 쇼핑백", "리빙 > 포장", "데일리홈", "선물포장,쇼핑백,포장", "선물 포장용 종이 쇼핑백", "packaging")
add("생일 케이크 초 세트", "리빙 > 파티", "데일리홈", "생일초,케이크초,파티", "케이크에 꽂는 생일 초 세트", "party")
add("과일 선물세트 샤인머스캣", "식품 > 과일", "데일리홈", "과일,선물세트,샤인머스캣", "명절 선물로 좋은 샤인머스캣 세트", "food giftset gift")
add("청포도 에이드 베이스", "식품 > 음료", "데일리홈", "청포도,에이드,음료", "탄산수에 섞어 마시는 청포도 에이드", "drink")
add("포도 주스 1L", "식품 > 음료", "데일리홈", "포도주스,주스", "100% 포도 착즙 주스", "drink")
add("초코파이 12개입", "식품 > 과자", "카카오공방", "초코파이,과자,간식", "마시멜로가 들어간 초코파이", "snack chocosnack cacao")
add("애플파이 4개입", "식품 > 베이커리", "카카오공방", "파이,애플파이,베이커리", "사과가 듬뿍 들어간 애플파이", "snack bakery cacao")
add("사과 5kg 부사", "식품 > 과일", "데일리홈", "사과,과일,부사", "아삭하고 달콤한 부사 사과", "food apple")
add("바나나 우유 6팩", "식품 > 음료", "데일리홈", "바나나우유,우유", "달콤한 바나나맛 우유", "drink")

for i, p in enumerate(P, 1):
    p["id"] = f"p{i:03d}"

# --- queries: (query, label expression, note) ----------------------------------------------
# An expression is a list of alternatives; each alternative is a set of labels that must all be present.


def has(*alts):
    return [set(a.split()) for a in alts]


QUERIES = [
    ("향수", has("perfume"), "all perfumes; candles ('향수처럼' in description), body mist, atomizer are distractors"),
    ("향수를", has("perfume"), "object particle must be stripped"),
    ("향수는 어떤게 있나요", has("perfume"), "chatty query with particles and a verb"),
    ("perfume", has("perfume"), "English query for a mostly Korean category (cross-language misses expected)"),
    ("플라워향수", has("perfume floral"), "compound; owner expects floral perfumes"),
    ("플로럴 향수", has("perfume floral"), "two words"),
    ("우디 향수", has("perfume woody"), "two words; woody candle is a distractor"),
    ("오 드 퍼퓸", has("edp"), "1-syllable words '오' '드'"),
    ("남성 향수", has("perfume men"), ""),
    ("여성 향수", has("perfume women"), "'여성용 향수' should be found"),
    ("향수 50ml", has("perfume 50ml"), "digits + unit"),
    ("향초", has("candle"), "must not return perfumes"),
    ("candles", has("candle"), "English plural"),
    ("초콜릿", has("chocolate"), "chocolate lip balm / choco snacks are distractors"),
    ("다크초콜릿", has("chocolate dark"), "compound vs '다크 초콜릿'"),
    ("dark chocolate", has("chocolate dark"), "English"),
    ("초콜릿 선물", has("chocolate gift"), "multi-word"),
    ("선물세트", has("giftset"), "compound vs '선물 세트' written apart"),
    ("선물 세트", has("giftset"), "spaced form"),
    ("gift set", has("giftset"), "English (cross-language misses expected)"),
    ("BB크림", has("bb"), "mixed script; CC cream is a distractor"),
    ("비비크림", has("bb"), "transliteration, found via tags"),
    ("크림", has("cream"), "cosmetic creams; cookies&cream chocolate / choco wafer are distractors"),
    ("수분크림", has("moist cream"), "compound; 수분 토너 is a distractor"),
    ("수분크림을", has("moist cream"), "particle"),
    ("수분", has("moist"), "hydrating products; ion drink '수분 보충' is a distractor"),
    ("선크림", has("sunscreen"), "sun stick/cushion expected too; '선물' is a distractor"),
    ("핸드크림", has("handcream"), ""),
    ("립밤", has("lipbalm"), ""),
    ("running shoes", has("running_shoe"), "stemming; Korean 러닝화 tagged 'running shoes' only sometimes"),
    ("shoes", has("shoe"), "plural; shoe cleaner is a distractor"),
    ("러닝화", has("running_shoe"), "running socks are a distractor"),
    ("운동화", has("sneaker"), "includes running shoes and kids sneakers"),
    ("운동화를 찾아요", has("sneaker"), "particle + verb"),
    ("키즈 운동화", has("kids sneaker"), ""),
    ("구두", has("formal"), ""),
    ("커피", has("coffee"), "coffee candle / mug / dripper are distractors"),
    ("원두", has("beans"), ""),
    ("coffee beans", has("beans"), "English"),
    ("녹차", has("greentea"), "green-tea chocolate is flavoured, not tea: distractor"),
    ("홍차", has("blacktea"), ""),
    ("허브티", has("herbal"), ""),
    ("tea", has("tea"), "English"),
    ("티백", has("teabag"), ""),
    ("가방", has("bag"), "category word; key ring '가방 고리' is a distractor"),
    ("에코백", has("ecobag"), ""),
    ("백팩", has("backpack"), ""),
    ("양말", has("socks"), ""),
    ("수면양말", has("sleepsocks"), "sleep mask '수면 안대' is a distractor"),
    ("고양이 사료", has("cat petfood"), ""),
    ("강아지 간식", has("dogtreat"), ""),
    ("사료", has("petfood"), ""),
    ("고양이", has("pet cat"), "cat mug / cat eco bag are distractors"),
    ("아기", has("baby"), ""),
    ("어린이", has("kids"), "kids' items"),
    ("텀블러", has("tumbler"), ""),
    ("메종드봄", has("bom"), "brand"),
    ("루미에르", has("lumiere"), "brand written in Korean; English 'Lumiere' brand rows without Korean are misses"),
    ("lumiere", has("lumiere"), "brand in English"),
    ("여름 선크림 추천", has("sunscreen"), "marketer phrasing; '여름' is not in the catalogue"),
    ("발렌타인 초콜릿 선물세트", has("chocolate giftset"), "only one product mentions 발렌타인; other chocolate gift sets are still wanted"),
    ("포도", has("drink"), "placeholder, replaced below"),
]

# '포도' (grape): juice and green-grape ade; not the shine-muscat set (owner might, but judged no).
GRAPE = {"청포도 에이드 베이스", "포도 주스 1L"}


def matches(p, expr):
    return any(alt <= p["labels"] for alt in expr)


os.makedirs("search", exist_ok=True)
with open(os.path.join(HERE, "products.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "name", "category", "brand", "tags", "description"])
    for p in P:
        w.writerow([p["id"], p["name"], p["category"], p["brand"], p["tags"], p["description"]])

out = []
for q, expr, note in QUERIES:
    if q == "포도":
        rel = [p["id"] for p in P if p["name"] in GRAPE]
        note = "'청포도' ends in particle-like '도'; '포도' must still match it"
    else:
        rel = [p["id"] for p in P if matches(p, expr)]
    assert rel, q
    out.append({"q": q, "relevant": rel, "note": note})
with open(os.path.join(HERE, "queries.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
print(len(P), "products,", len(out), "queries")
for o in out:
    print(f"{o['q']:<14} {len(o['relevant'])}")
