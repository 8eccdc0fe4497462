-- demo.generate(p_sales, p_seed): fills the marketplace with realistic data.
--
-- Scale follows the number of sales:
--   produtos  max(50, sales/200)      lojas     max(10, sales/5000)
--   clientes  max(100, sales/50)      promocoes ≈ produtos/5
--   categorias, marcas: fixed lists (2 levels of categories, ~130 brands)
-- Sales cover the 365 days before today (00:00, America/Sao_Paulo), with a
-- weekly pattern, a growth trend, paydays and Brazilian retail dates (Black
-- Friday, Natal, Dia das Mães, ...). Everything is set-based INSERT ... SELECT
-- over generate_series; vendas is loaded without its key and foreign keys,
-- which are added afterwards in one pass each.
--
-- Deterministic for a given seed (setseed: -1..1) on a given day: the dates
-- move with the day it runs, the rest does not.
--
-- Invariants (demo.check_data() counts what breaks them; scripts/demo-db runs it):
--   vendas.total = quantidade * preco_unitario
--   promocao_id is set  <=>  data_venda in [inicio, fim) of a promotion of
--     that product (promotions of one product never overlap), and then
--     preco_unitario = round(produtos.preco * (1 - desconto_pct/100), 2),
--     else preco_unitario = produtos.preco
--   products, stores and customers were created before their first sale.
--
-- Word lists live in demo.* tables so that demo.apply_changes can reuse them.

CREATE SCHEMA IF NOT EXISTS demo;

DROP TABLE IF EXISTS demo.tipo, demo.estilo, demo.marca, demo.cidade, demo.prenome, demo.sobrenome;

-- A product type: its category (top / sub), naming style and price range.
CREATE TABLE demo.tipo (
    id      int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cat_top text NOT NULL,
    cat_sub text NOT NULL,
    tipo    text NOT NULL,
    estilo  text NOT NULL,
    pmin    float8 NOT NULL,
    pmax    float8 NOT NULL
);
INSERT INTO demo.tipo (cat_top, cat_sub, tipo, estilo, pmin, pmax) VALUES
 ('Eletrônicos', 'Áudio', 'Fone Bluetooth', 'tech', 79, 899),
 ('Eletrônicos', 'Áudio', 'Caixa de Som Portátil', 'tech', 99, 1499),
 ('Eletrônicos', 'Áudio', 'Soundbar', 'tech', 499, 3999),
 ('Eletrônicos', 'Áudio', 'Fone de Ouvido com Fio', 'tech', 29, 299),
 ('Eletrônicos', 'Celulares e Smartphones', 'Smartphone', 'tech', 799, 8999),
 ('Eletrônicos', 'Celulares e Smartphones', 'Capa para Celular', 'tech', 19, 129),
 ('Eletrônicos', 'Celulares e Smartphones', 'Carregador Turbo', 'tech', 39, 249),
 ('Eletrônicos', 'Celulares e Smartphones', 'Película de Vidro', 'tech', 15, 79),
 ('Eletrônicos', 'Celulares e Smartphones', 'Smartwatch', 'tech', 199, 2999),
 ('Eletrônicos', 'Informática', 'Notebook', 'tech', 2199, 12999),
 ('Eletrônicos', 'Informática', 'Mouse Sem Fio', 'tech', 39, 399),
 ('Eletrônicos', 'Informática', 'Teclado Mecânico', 'tech', 149, 999),
 ('Eletrônicos', 'Informática', 'Monitor LED', 'tech', 599, 3999),
 ('Eletrônicos', 'Informática', 'SSD', 'tech', 149, 1299),
 ('Eletrônicos', 'Informática', 'Pendrive', 'tech', 25, 199),
 ('Eletrônicos', 'Informática', 'Headset Gamer', 'tech', 99, 899),
 ('Eletrônicos', 'TV e Vídeo', 'Smart TV', 'tech', 1299, 9999),
 ('Eletrônicos', 'TV e Vídeo', 'Suporte para TV', 'tech', 49, 399),
 ('Eletrônicos', 'TV e Vídeo', 'Streaming Stick', 'tech', 199, 499),
 ('Eletrodomésticos', 'Cozinha', 'Liquidificador', 'eletro', 99, 599),
 ('Eletrodomésticos', 'Cozinha', 'Air Fryer', 'eletro', 299, 1199),
 ('Eletrodomésticos', 'Cozinha', 'Cafeteira Elétrica', 'eletro', 89, 2999),
 ('Eletrodomésticos', 'Cozinha', 'Micro-ondas', 'eletro', 499, 1599),
 ('Eletrodomésticos', 'Cozinha', 'Batedeira', 'eletro', 129, 899),
 ('Eletrodomésticos', 'Cozinha', 'Sanduicheira', 'eletro', 69, 299),
 ('Eletrodomésticos', 'Cozinha', 'Geladeira Frost Free', 'eletro', 2499, 8999),
 ('Eletrodomésticos', 'Cozinha', 'Fogão 4 Bocas', 'eletro', 799, 2999),
 ('Eletrodomésticos', 'Lavanderia', 'Máquina de Lavar', 'eletro', 1499, 4999),
 ('Eletrodomésticos', 'Lavanderia', 'Ferro de Passar', 'eletro', 69, 399),
 ('Eletrodomésticos', 'Lavanderia', 'Aspirador de Pó', 'eletro', 149, 1999),
 ('Eletrodomésticos', 'Climatização', 'Ventilador de Coluna', 'eletro', 129, 499),
 ('Eletrodomésticos', 'Climatização', 'Ar-Condicionado Split', 'eletro', 1699, 4999),
 ('Eletrodomésticos', 'Climatização', 'Climatizador', 'eletro', 299, 999),
 ('Casa e Decoração', 'Cama, Mesa e Banho', 'Jogo de Lençol Casal', 'casa', 79, 399),
 ('Casa e Decoração', 'Cama, Mesa e Banho', 'Toalha de Banho', 'casa', 29, 149),
 ('Casa e Decoração', 'Cama, Mesa e Banho', 'Edredom Queen', 'casa', 149, 599),
 ('Casa e Decoração', 'Cama, Mesa e Banho', 'Travesseiro', 'casa', 39, 299),
 ('Casa e Decoração', 'Utilidades Domésticas', 'Jogo de Panelas', 'casa', 199, 1499),
 ('Casa e Decoração', 'Utilidades Domésticas', 'Garrafa Térmica', 'casa', 49, 299),
 ('Casa e Decoração', 'Utilidades Domésticas', 'Conjunto de Facas', 'casa', 49, 499),
 ('Casa e Decoração', 'Utilidades Domésticas', 'Kit Potes Herméticos', 'casa', 39, 199),
 ('Casa e Decoração', 'Móveis', 'Cadeira de Escritório', 'moveis', 299, 2499),
 ('Casa e Decoração', 'Móveis', 'Mesa de Jantar', 'moveis', 599, 3999),
 ('Casa e Decoração', 'Móveis', 'Estante', 'moveis', 199, 1299),
 ('Casa e Decoração', 'Móveis', 'Sofá Retrátil', 'moveis', 1299, 5999),
 ('Casa e Decoração', 'Móveis', 'Guarda-Roupa', 'moveis', 699, 3499),
 ('Moda', 'Moda Masculina', 'Camiseta', 'roupa', 39, 149),
 ('Moda', 'Moda Masculina', 'Calça Jeans', 'roupa', 99, 349),
 ('Moda', 'Moda Masculina', 'Bermuda', 'roupa', 59, 199),
 ('Moda', 'Moda Masculina', 'Camisa Polo', 'roupa', 69, 249),
 ('Moda', 'Moda Feminina', 'Vestido', 'roupa', 79, 399),
 ('Moda', 'Moda Feminina', 'Blusa', 'roupa', 49, 199),
 ('Moda', 'Moda Feminina', 'Saia', 'roupa', 59, 229),
 ('Moda', 'Moda Feminina', 'Legging', 'roupa', 49, 179),
 ('Moda', 'Calçados', 'Tênis de Corrida', 'calcado', 199, 999),
 ('Moda', 'Calçados', 'Chinelo', 'calcado', 19, 89),
 ('Moda', 'Calçados', 'Sandália', 'calcado', 59, 299),
 ('Moda', 'Calçados', 'Bota', 'calcado', 179, 599),
 ('Esporte e Lazer', 'Fitness', 'Halter Emborrachado', 'esporte', 39, 299),
 ('Esporte e Lazer', 'Fitness', 'Tapete de Yoga', 'esporte', 59, 249),
 ('Esporte e Lazer', 'Fitness', 'Bicicleta Ergométrica', 'esporte', 799, 3499),
 ('Esporte e Lazer', 'Fitness', 'Corda de Pular', 'esporte', 19, 89),
 ('Esporte e Lazer', 'Camping', 'Barraca', 'esporte', 199, 1299),
 ('Esporte e Lazer', 'Camping', 'Cooler', 'esporte', 99, 699),
 ('Esporte e Lazer', 'Camping', 'Lanterna LED', 'esporte', 29, 199),
 ('Esporte e Lazer', 'Ciclismo', 'Bicicleta Aro 29', 'esporte', 999, 4999),
 ('Esporte e Lazer', 'Ciclismo', 'Capacete de Ciclismo', 'esporte', 99, 599),
 ('Beleza e Saúde', 'Perfumaria', 'Perfume', 'beleza', 89, 899),
 ('Beleza e Saúde', 'Perfumaria', 'Desodorante', 'beleza', 14, 49),
 ('Beleza e Saúde', 'Cuidados Pessoais', 'Secador de Cabelo', 'eletro', 99, 899),
 ('Beleza e Saúde', 'Cuidados Pessoais', 'Prancha Alisadora', 'eletro', 89, 799),
 ('Beleza e Saúde', 'Cuidados Pessoais', 'Barbeador Elétrico', 'eletro', 99, 699),
 ('Beleza e Saúde', 'Cuidados Pessoais', 'Escova Dental Elétrica', 'eletro', 79, 599),
 ('Beleza e Saúde', 'Maquiagem', 'Base Líquida', 'beleza', 29, 249),
 ('Beleza e Saúde', 'Maquiagem', 'Batom', 'beleza', 19, 149),
 ('Beleza e Saúde', 'Maquiagem', 'Paleta de Sombras', 'beleza', 39, 299),
 ('Brinquedos', 'Bonecas e Bonecos', 'Boneca', 'brinquedo', 49, 399),
 ('Brinquedos', 'Bonecas e Bonecos', 'Boneco de Ação', 'brinquedo', 49, 299),
 ('Brinquedos', 'Jogos e Quebra-Cabeças', 'Quebra-Cabeça 1000 Peças', 'brinquedo', 29, 149),
 ('Brinquedos', 'Jogos e Quebra-Cabeças', 'Jogo de Tabuleiro', 'brinquedo', 59, 399),
 ('Brinquedos', 'Jogos e Quebra-Cabeças', 'Blocos de Montar', 'brinquedo', 79, 999),
 ('Brinquedos', 'Veículos de Brinquedo', 'Carrinho de Controle Remoto', 'brinquedo', 99, 699),
 ('Livros e Papelaria', 'Livros', 'Livro de Ficção', 'livro', 29, 89),
 ('Livros e Papelaria', 'Livros', 'Livro Infantil', 'livro', 19, 69),
 ('Livros e Papelaria', 'Papelaria', 'Caderno Universitário', 'papel', 19, 59),
 ('Livros e Papelaria', 'Papelaria', 'Kit Canetas', 'papel', 15, 79),
 ('Livros e Papelaria', 'Papelaria', 'Mochila Escolar', 'papel', 79, 399),
 ('Mercado', 'Bebidas', 'Café em Grãos', 'mercado', 29, 129),
 ('Mercado', 'Bebidas', 'Cerveja Artesanal', 'mercado', 12, 39),
 ('Mercado', 'Bebidas', 'Chá', 'mercado', 9, 39),
 ('Mercado', 'Alimentos', 'Azeite Extra Virgem', 'mercado', 29, 89),
 ('Mercado', 'Alimentos', 'Chocolate', 'mercado', 9, 59),
 ('Mercado', 'Alimentos', 'Mix de Castanhas', 'mercado', 19, 79),
 ('Pet Shop', 'Cães e Gatos', 'Ração', 'pet', 79, 399),
 ('Pet Shop', 'Cães e Gatos', 'Arranhador', 'pet', 69, 399),
 ('Pet Shop', 'Cães e Gatos', 'Cama Pet', 'pet', 59, 299),
 ('Pet Shop', 'Cães e Gatos', 'Coleira', 'pet', 19, 99),
 ('Pet Shop', 'Cães e Gatos', 'Areia Higiênica', 'pet', 19, 69);

-- Product name = tipo + marca + linha + attr1 [+ attr2], e.g.
-- "Fone Bluetooth JBL Xtreme 200", "Camiseta Hering Básica Azul-Marinho M".
CREATE TABLE demo.estilo (
    estilo text PRIMARY KEY,
    linhas text[] NOT NULL,
    attr1  text[] NOT NULL,
    attr2  text[] NOT NULL          -- may be empty
);
INSERT INTO demo.estilo VALUES
 ('tech',      '{Xtreme,Pro,Max,Ultra,Neo,Turbo,Prime,Nova,Fusion,Edge,Lite,Plus}',
               '{100,200,300,500,700,900,X,S2,Z3,Air,One,2,3,5}', '{}'),
 ('eletro',    '{Turbo,Gourmet,Inox,Power,Easy,Compact,Premium,Plus,Digital,Master}',
               '{110V,220V,Bivolt}', '{Preto,Inox,Branco,Vermelho}'),
 ('casa',      '{Premium,Conforto,Essencial,Nobre,Prática,Clean,Gourmet,Classic}',
               '{Branco,Cinza,Bege,Azul,Preto,Rosa,Verde}', '{"","Kit 2","Kit 4"}'),
 ('moveis',    '{Madeira Maciça,MDF,Estofado,Ergonômico,Compacto,Luxo}',
               '{Branco,Preto,Nogueira,Carvalho,Cinza,Off-White}', '{}'),
 ('roupa',     '{Básica,Slim,Comfort,Urban,Classic,Sport,Casual,Fit}',
               '{Preto,Branco,Azul-Marinho,Cinza,Bege,Vinho,Verde-Oliva,Rosa}', '{P,M,G,GG}'),
 ('calcado',   '{Runner,Comfort,Classic,Urban,Trail,Flex}',
               '{Preto,Branco,Azul,Cinza,Caramelo}', '{34,35,36,37,38,39,40,41,42,43,44}'),
 ('esporte',   '{Pro,Sport,Trail,Fit,Power,Speed,Aventura}',
               '{Preto,Azul,Vermelho,Verde,Laranja}', '{}'),
 ('beleza',    '{Essence,Glow,Pure,Intense,Natural,Divine,Fresh}',
               '{30ml,50ml,75ml,100ml,150ml}', '{}'),
 ('brinquedo', '{Aventura,Mágico,Super,Fantasia,Radical,Turma}',
               '{"3+ Anos","5+ Anos","8+ Anos"}', '{}'),
 ('livro',     '{"Edição Especial","Capa Dura","Edição de Bolso","Box Coleção"}',
               '{"Vol. 1","Vol. 2","Vol. 3",Único}', '{}'),
 ('papel',     '{Escolar,Office,Colors,Pro,Kids}',
               '{"1 Matéria","10 Matérias","96 Folhas","12 Cores","24 Cores"}', '{}'),
 ('mercado',   '{Gourmet,Tradicional,Orgânico,Premium,Intenso,Suave}',
               '{Unidade,"Kit 2","Kit 3","Pack 6","Edição Limitada"}', '{}'),
 ('pet',       '{Premium,Natural,Filhotes,Adultos,Sênior,Light}',
               '{1kg,3kg,10kg,15kg,P,M,G}', '{}');

-- Brands by top category; a brand may serve several categories.
CREATE TABLE demo.marca (
    ord     int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    nome    text NOT NULL,
    cat_top text NOT NULL
);
INSERT INTO demo.marca (nome, cat_top)
SELECT m, c FROM (VALUES
 ('Eletrônicos', '{Samsung,LG,Sony,JBL,Philips,Motorola,Xiaomi,Multilaser,Intelbras,Positivo,Lenovo,Dell,Acer,Logitech,Kingston,Redragon,Edifier,TCL,AOC,Elgin}'::text[]),
 ('Eletrodomésticos', '{Brastemp,Consul,Electrolux,Mondial,Britânia,Philco,Arno,Oster,Cadence,Black+Decker,Midea,Walita,Fischer,Esmaltec,Atlas}'),
 ('Casa e Decoração', '{Tramontina,Rochedo,Brinox,Santista,Karsten,Buddemeyer,Altenburg,Teka,Madesa,Politorno,Flexform,Mor,Sanremo,Electrolux}'),
 ('Moda', '{Hering,Reserva,Colcci,Malwee,Lupo,Havaianas,Olympikus,Mizuno,Vizzano,Ramarim,Rider,Fila,Topper,Penalty,Marisa}'),
 ('Esporte e Lazer', '{Caloi,Nautika,Kikos,"Acte Sports",Speedo,Penalty,Topper,Mor,Houston,Oggi,Poker}'),
 ('Beleza e Saúde', '{Natura,"O Boticário",Eudora,Avon,Nivea,Vult,"Ruby Rose",Taiff,"Gama Italy",Philips,Mondial,Britânia,Oral-B,Granado}'),
 ('Brinquedos', '{Estrela,Mattel,Hasbro,Grow,Xalingo,Toyng,Candide,Elka,"Pais & Filhos",Bandeirante}'),
 ('Livros e Papelaria', '{"Companhia das Letras",Rocco,Intrínseca,Sextante,Record,Faber-Castell,Tilibra,BIC,Jandaia,Foroni}'),
 ('Mercado', '{"3 Corações",Melitta,Pilão,Gallo,Andorinha,Garoto,Nestlé,Lacta,"Baden Baden",Eisenbahn,Leão,"Mãe Terra"}'),
 ('Pet Shop', '{Golden,PremierPet,Pedigree,Whiskas,"Royal Canin",Pipicat,Chalesco,GranPlus,Guabi}')
) AS v(c, ms), unnest(ms) WITH ORDINALITY AS u(m, i)
ORDER BY c, i;

-- Cities with a weight close to their population in hundreds of thousands.
CREATE TABLE demo.cidade (
    id     int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cidade text NOT NULL,
    uf     char(2) NOT NULL,
    peso   int NOT NULL
);
INSERT INTO demo.cidade (cidade, uf, peso) VALUES
 ('São Paulo','SP',123), ('Rio de Janeiro','RJ',67), ('Brasília','DF',30), ('Salvador','BA',29),
 ('Fortaleza','CE',27), ('Belo Horizonte','MG',25), ('Manaus','AM',22), ('Curitiba','PR',19),
 ('Recife','PE',16), ('Goiânia','GO',15), ('Porto Alegre','RS',15), ('Belém','PA',15),
 ('Guarulhos','SP',13), ('Campinas','SP',12), ('São Luís','MA',11), ('São Gonçalo','RJ',10),
 ('Maceió','AL',10), ('Duque de Caxias','RJ',9), ('Natal','RN',9), ('Teresina','PI',9),
 ('Campo Grande','MS',9), ('São Bernardo do Campo','SP',8), ('João Pessoa','PB',8),
 ('Osasco','SP',7), ('Santo André','SP',7), ('Ribeirão Preto','SP',7), ('Uberlândia','MG',7),
 ('Sorocaba','SP',7), ('São José dos Campos','SP',7), ('Contagem','MG',6), ('Aracaju','SE',6),
 ('Feira de Santana','BA',6), ('Cuiabá','MT',6), ('Joinville','SC',6), ('Juiz de Fora','MG',6),
 ('Londrina','PR',6), ('Niterói','RJ',5), ('Porto Velho','RO',5), ('Florianópolis','SC',5),
 ('Vila Velha','ES',5), ('Caxias do Sul','RS',5), ('Macapá','AP',5), ('Santos','SP',4),
 ('Vitória','ES',4), ('Rio Branco','AC',4), ('Boa Vista','RR',4), ('Maringá','PR',4),
 ('Blumenau','SC',4), ('Campina Grande','PB',4), ('Petrolina','PE',4), ('Anápolis','GO',4),
 ('Bauru','SP',4), ('Jundiaí','SP',4), ('Piracicaba','SP',4), ('Montes Claros','MG',4),
 ('Caruaru','PE',4), ('Palmas','TO',3), ('Pelotas','RS',3), ('Mossoró','RN',3),
 ('Cascavel','PR',3), ('Chapecó','SC',2), ('Petrópolis','RJ',3), ('Juazeiro do Norte','CE',3);

CREATE TABLE demo.prenome (nome text NOT NULL);
INSERT INTO demo.prenome SELECT unnest('{Ana,Maria,Juliana,Camila,Fernanda,Beatriz,Larissa,Letícia,
 Mariana,Gabriela,Patrícia,Aline,Bruna,Amanda,Jéssica,Luana,Vitória,Sofia,Helena,Alice,Valentina,
 Francisca,Antônia,Raimunda,Sandra,Cláudia,José,João,Antônio,Francisco,Carlos,Paulo,Pedro,Lucas,
 Luiz,Marcos,Gabriel,Rafael,Daniel,Marcelo,Bruno,Eduardo,Felipe,Rodrigo,Gustavo,Matheus,Thiago,
 Leonardo,Diego,André,Fábio,Vinícius,Guilherme,Ricardo,Miguel,Arthur,Heitor,Davi,Bernardo,Enzo}'::text[]);

CREATE TABLE demo.sobrenome (nome text NOT NULL);
INSERT INTO demo.sobrenome SELECT unnest('{Silva,Santos,Oliveira,Souza,Rodrigues,Ferreira,Alves,
 Pereira,Lima,Gomes,Costa,Ribeiro,Martins,Carvalho,Almeida,Lopes,Soares,Fernandes,Vieira,Barbosa,
 Rocha,Dias,Nascimento,Andrade,Moreira,Nunes,Marques,Machado,Mendes,Freitas,Cardoso,Ramos,
 Gonçalves,Santana,Teixeira,Araújo,Pinto,Moura,Cavalcanti,Monteiro}'::text[]);

-- Letters without accents, for SKUs and e-mail addresses.
CREATE OR REPLACE FUNCTION demo.ascii(p text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT translate(p, 'áàâãäéêëíîïóôõöúûüçÁÀÂÃÉÊÍÓÔÕÚÇ ', 'aaaaaeeeiiioooouuucAAAAEEIOOOUC')
$$;

-- A CNPJ "NN.NNN.NNN/FFFF-DD" with valid check digits (modulo 11).
CREATE OR REPLACE FUNCTION demo.cnpj(p_base bigint, p_filial int DEFAULT 1) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    digits text := lpad((p_base % 100000000)::text, 8, '0') || lpad(p_filial::text, 4, '0');
    d      int[] := string_to_array(digits, NULL)::int[];
    w      int[] := '{6,5,4,3,2,9,8,7,6,5,4,3,2}';
    s      int;
    dv     int;
BEGIN
    FOR k IN 1..2 LOOP                       -- first digit: weights 5..2,9..2; second: 6..2,9..2
        s := 0;
        FOR i IN 1..cardinality(d) LOOP
            s := s + d[i] * w[i + 2 - k];
        END LOOP;
        dv := 11 - s % 11;
        d := d || CASE WHEN dv >= 10 THEN 0 ELSE dv END;
    END LOOP;
    RETURN format('%s.%s.%s/%s-%s%s', substr(digits, 1, 2), substr(digits, 3, 3),
                  substr(digits, 6, 3), substr(digits, 9, 4), d[13], d[14]);
END $$;

-- Brazilian retail dates of year p_year: the key day, the days whose sales
-- it lifts [ini, fim] by fator, and how strongly it attracts promotions.
CREATE OR REPLACE FUNCTION demo.eventos(p_year int)
RETURNS TABLE (nome text, dia date, ini date, fim date, fator float8, peso_promo int)
LANGUAGE sql IMMUTABLE AS $$
    WITH d AS (
        SELECT make_date(p_year, m, 1) AS d1, m FROM unnest('{5,8,11}'::int[]) m
    ), k AS (
        SELECT
          -- the Friday after the 4th Thursday of November
          (SELECT d1 + (4 - extract(dow FROM d1)::int + 7) % 7 + 22 FROM d WHERE m = 11) AS bf,
          -- second Sundays of May and August
          (SELECT d1 + (7 - extract(dow FROM d1)::int) % 7 + 7 FROM d WHERE m = 5) AS maes,
          (SELECT d1 + (7 - extract(dow FROM d1)::int) % 7 + 7 FROM d WHERE m = 8) AS pais
    )
    SELECT v.* FROM k, LATERAL (VALUES
        ('Black Friday',      bf, bf, bf, 3.5::float8, 8),
        ('Black Week',        bf, bf - 4, bf + 3, 1.8, 0),
        ('Natal',             make_date(p_year, 12, 24), make_date(p_year, 12, 1), make_date(p_year, 12, 23), 1.35, 3),
        ('Natal',             make_date(p_year, 12, 25), make_date(p_year, 12, 25), make_date(p_year, 12, 25), 0.5, 0),
        ('Ano Novo',          make_date(p_year, 1, 1), make_date(p_year, 1, 1), make_date(p_year, 1, 1), 0.5, 0),
        ('Volta às Aulas',    make_date(p_year, 2, 1), make_date(p_year, 1, 20), make_date(p_year, 2, 10), 1.1, 1),
        ('Dia do Consumidor', make_date(p_year, 3, 15), make_date(p_year, 3, 14), make_date(p_year, 3, 16), 1.5, 2),
        ('Dia das Mães',      maes, maes - 7, maes - 1, 1.3, 2),
        ('Dia dos Namorados', make_date(p_year, 6, 12), make_date(p_year, 6, 5), make_date(p_year, 6, 11), 1.2, 2),
        ('Dia dos Pais',      pais, pais - 7, pais - 1, 1.25, 2),
        ('Dia das Crianças',  make_date(p_year, 10, 12), make_date(p_year, 10, 5), make_date(p_year, 10, 11), 1.3, 2)
    ) AS v(nome, dia, ini, fim, fator, peso_promo);
$$;

-- Picks element 1 + floor(r * n) of an array: r in [0,1).
CREATE OR REPLACE FUNCTION demo.pick(a anyarray, r float8) RETURNS anyelement
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT a[1 + floor(r * cardinality(a))::int] $$;

CREATE OR REPLACE FUNCTION demo.generate(p_sales bigint, p_seed float8 DEFAULT 0.42) RETURNS void
LANGUAGE plpgsql
SET timezone = 'America/Sao_Paulo'       -- calendar days and hours of a Brazilian shop
SET work_mem = '256MB'
SET maintenance_work_mem = '512MB'       -- index builds of vendas
AS $$
DECLARE
    n_prod  bigint := greatest(50, p_sales / 200);
    n_loja  bigint := greatest(10, p_sales / 5000);
    n_cli   bigint := greatest(100, p_sales / 50);
    n_promo bigint := greatest(1, n_prod / 5);
    d_end   date := current_date;            -- sales end before today 00:00
    d0      date := current_date - 365;
    v_bf    date;
    t       text;
    tables  text[] := ARRAY['categorias', 'marcas', 'produtos', 'lojas', 'clientes', 'promocoes', 'vendas'];
    tracked boolean := to_regclass('ct.tracked_tables') IS NOT NULL;
    -- hours of the day, each repeated by its weight (evening peak)
    horas   int[] := (SELECT array_agg(h - 1 ORDER BY h)
                        FROM unnest('{3,2,1,1,1,1,2,3,5,7,8,9,10,10,9,9,9,10,10,11,12,12,9,5}'::int[])
                             WITH ORDINALITY AS w(n, h), generate_series(1, w.n));
    -- city ids, each repeated by its weight
    cidades int[] := (SELECT array_agg(c.id ORDER BY c.id) FROM demo.cidade c, generate_series(1, c.peso));
BEGIN
    IF p_sales < 0 OR p_seed NOT BETWEEN -1 AND 1 THEN
        RAISE EXCEPTION 'demo.generate: p_sales must be >= 0 and p_seed in [-1, 1]';
    END IF;
    PERFORM setseed(p_seed);

    -- The TRUNCATE triggers of ct empty the change tables and raise their
    -- horizon: older extractor offsets become invalid, a full load comes next.
    -- The bulk insert itself is not tracked.
    TRUNCATE vendas, promocoes, clientes, lojas, produtos, marcas, categorias RESTART IDENTITY;
    IF tracked THEN
        FOREACH t IN ARRAY tables LOOP
            IF EXISTS (SELECT FROM ct.tracked_tables WHERE table_name = t) THEN
                PERFORM ct.set_tracking(t, false);
            END IF;
        END LOOP;
    END IF;
    PERFORM demo.vendas_constraints(false);

    -- Categories: top level first, then their subcategories.
    INSERT INTO categorias (id, nome, categoria_pai_id, updated_at)
    SELECT row_number() OVER (ORDER BY min(id)), cat_top, NULL, d0 - 1200
      FROM demo.tipo GROUP BY cat_top;
    INSERT INTO categorias (id, nome, categoria_pai_id, updated_at)
    SELECT (SELECT max(id) FROM categorias) + row_number() OVER (ORDER BY min(t.id)), t.cat_sub, c.id, d0 - 1200
      FROM demo.tipo t JOIN categorias c ON c.nome = t.cat_top
     GROUP BY t.cat_sub, c.id;

    INSERT INTO marcas (id, nome, updated_at)
    SELECT row_number() OVER (ORDER BY min(ord)), nome, d0 - 1200 FROM demo.marca GROUP BY nome;

    -- Products: a type, a brand of its category, a log-uniform price skewed to
    -- the cheap end and ending in ,90; cost 40-75 % of the price.
    INSERT INTO produtos (id, sku, nome, categoria_id, marca_id, preco, custo, ativo, criado_em, updated_at)
    WITH tp AS (
        SELECT t.cat_top, t.tipo, t.estilo, t.pmin, t.pmax, c.id AS categoria_id,
               row_number() OVER (ORDER BY t.id) AS k
          FROM demo.tipo t JOIN categorias c ON c.nome = t.cat_sub AND c.categoria_pai_id IS NOT NULL
    ), br AS (
        SELECT m.cat_top, array_agg(b.id ORDER BY m.ord) AS ids, array_agg(b.nome ORDER BY m.ord) AS nomes
          FROM demo.marca m JOIN marcas b ON b.nome = m.nome GROUP BY m.cat_top
    ), r AS (
        SELECT g AS id, 1 + floor(random() * (SELECT count(*) FROM tp))::int AS k,
               random() AS r_marca, random() AS r_linha, random() AS r_a1, random() AS r_a2,
               random() AS r_preco, random() AS r_custo, random() AS r_ativo, random() AS r_criado,
               random() AS r_upd
          FROM generate_series(1, n_prod) g
    ), p AS (
        SELECT r.*, tp.cat_top, tp.tipo, tp.categoria_id, e.linhas, e.attr1, e.attr2, br.ids, br.nomes,
               round(tp.pmin * power(tp.pmax / tp.pmin, power(r.r_preco, 1.4)))::numeric - 0.10 AS preco,
               d0 - interval '1 day' - r.r_criado * interval '1000 days' AS criado_em
          FROM r JOIN tp USING (k) JOIN demo.estilo e USING (estilo) JOIN br USING (cat_top)
    )
    SELECT id,
           format('%s-%s', upper(left(demo.ascii(cat_top), 3)), lpad(id::text, 7, '0')),
           concat_ws(' ', tipo, demo.pick(nomes, r_marca), demo.pick(linhas, r_linha),
                     demo.pick(attr1, r_a1), nullif(demo.pick(attr2, r_a2), '')),
           categoria_id, demo.pick(ids, r_marca), preco,
           round(preco * (0.40 + 0.35 * r_custo)::numeric, 2),
           r_ativo < 0.93,
           criado_em, criado_em + (d0 - criado_em) * r_upd
      FROM p ORDER BY id;

    -- Stores: invented names, CNPJ from a bijective hash of the id (unique).
    INSERT INTO lojas (id, nome, cnpj, cidade, uf, criado_em, updated_at)
    SELECT r.id,
           concat_ws(' ',
               demo.pick('{Mega,Super,Casa,Mundo,Rei,Império,Point,Empório,Bazar,Atacadão,Top,Nova,Grupo}'::text[], r.r1),
               demo.pick('{Eletro,Tech,Digital,Home,Fashion,Kids,Pet,Esportes,Beleza,Utilidades,Magazine,Shop,Store,Center,Variedades}'::text[], r.r2),
               CASE WHEN r.r3 < 0.5 THEN c.cidade END,
               nullif(demo.pick('{Ltda,ME,EIRELI,"& Cia",""}'::text[], r.r4), '')),
           demo.cnpj((r.id * 2654435761) % 100000000, 1),
           c.cidade, c.uf, r.criado_em, r.criado_em
      FROM (SELECT g AS id, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                   demo.pick(cidades, random()) AS cidade_id,
                   d0 - interval '1 day' - random() * interval '1500 days' AS criado_em
              FROM generate_series(1, n_loja) g) r
      JOIN demo.cidade c ON c.id = r.cidade_id
     ORDER BY r.id;

    -- Customers: first name + one or two surnames; born 18-73 years ago.
    INSERT INTO clientes (id, nome, email, cidade, uf, data_nascimento, criado_em, updated_at)
    SELECT r.id, concat_ws(' ', r.pn, r.sn2, r.sn1),
           lower(format('%s.%s%s@%s', demo.ascii(r.pn), demo.ascii(r.sn1), r.id,
                 demo.pick('{gmail.com,gmail.com,gmail.com,hotmail.com,hotmail.com,outlook.com,yahoo.com.br,uol.com.br,bol.com.br,terra.com.br,icloud.com}'::text[], r.r_mail))),
           c.cidade, c.uf,
           d_end - (6575 + power(r.r_idade, 1.6) * 20000)::int,
           r.criado_em, r.criado_em + (d0 - r.criado_em) * r.r_upd
      FROM (SELECT g AS id,
                   demo.pick(p.a, random()) AS pn,
                   demo.pick(s.a, random()) AS sn1,
                   CASE WHEN random() < 0.6 THEN demo.pick(s.a, random()) END AS sn2,
                   random() AS r_mail, random() AS r_idade, random() AS r_upd,
                   demo.pick(cidades, random()) AS cidade_id,
                   d0 - interval '1 day' - random() * interval '1800 days' AS criado_em
              FROM generate_series(1, n_cli) g,
                   (SELECT array_agg(nome ORDER BY nome) AS a FROM demo.prenome) p,
                   (SELECT array_agg(nome ORDER BY nome) AS a FROM demo.sobrenome) s) r
      JOIN demo.cidade c ON c.id = r.cidade_id
     ORDER BY r.id;

    -- Retail dates of the window, for sales and promotions.
    CREATE TEMP TABLE demo_ev ON COMMIT DROP AS
    SELECT * FROM demo.eventos(extract(year FROM d0)::int)
    UNION ALL SELECT * FROM demo.eventos(extract(year FROM d0)::int + 1);
    v_bf := (SELECT min(dia) FROM demo_ev WHERE nome = 'Black Friday' AND dia >= d0);

    -- Promotions: 14-day slots aligned so that one slot is exactly the Black
    -- Week (Monday before Black Friday, 7 days). At most one promotion per
    -- product and slot, inside the slot, so a product's promotions never
    -- overlap. Slots reach a month past today: some promotions run now.
    -- Retail dates weigh their slot (Black Friday 8x) and name it.
    CREATE TEMP TABLE demo_slot ON COMMIT DROP AS
    SELECT k, s.ini,
           coalesce(e.nome, '') AS evento, e.dia,
           coalesce(e.peso_promo, 1) AS peso
      FROM generate_series(((d0 - (v_bf - 4)) / 14.0)::int - 1, ((d_end + 30 - (v_bf - 4)) / 14.0)::int) k,
           LATERAL (SELECT v_bf - 4 + 14 * k AS ini) s
      LEFT JOIN LATERAL (SELECT nome, dia, peso_promo FROM demo_ev
                          WHERE dia >= s.ini AND dia < s.ini + 14 AND peso_promo > 0
                          ORDER BY peso_promo DESC LIMIT 1) e ON true
     WHERE s.ini + 14 > d0;

    INSERT INTO promocoes (id, nome, produto_id, desconto_pct, inicio, fim, updated_at)
    WITH pick AS (
        SELECT array_agg(k ORDER BY k) AS ks FROM demo_slot, generate_series(1, peso)
    ), cand AS (
        SELECT g, 1 + floor(n_prod * power(random(), 1.5))::bigint AS produto_id,
               demo.pick(pick.ks, random()) AS k, random() AS r_off, random() AS r_dur,
               random() AS r_desc, random() AS r_nome
          FROM generate_series(1, n_promo * 11 / 10 + 5) g, pick
    ), uniq AS (
        SELECT DISTINCT ON (produto_id, k) * FROM cand ORDER BY produto_id, k, g
    ), w AS (
        -- Black Friday: the Black Week (Monday to Sunday); another retail
        -- date: a few days up to and including the day; else anywhere in
        -- the slot. Always within [slot, slot + 14 days).
        SELECT u.g, u.produto_id, s.evento, u.r_nome,
               CASE WHEN s.evento = 'Black Friday' THEN greatest(s.ini, s.dia - 4)
                    WHEN s.evento <> '' THEN greatest(s.ini, s.dia - 2 - floor(u.r_dur * 8)::int)
                    ELSE s.ini + floor(u.r_off * 10)::int END AS inicio,
               CASE WHEN s.evento = 'Black Friday' THEN least(s.ini + 14, s.dia + 3)
                    WHEN s.evento <> '' THEN s.dia + 1
                    ELSE s.ini + floor(u.r_off * 10)::int + 2 + floor(u.r_dur * (13 - floor(u.r_off * 10)))::int
               END AS fim,
               demo.pick('{5,10,10,15,15,20,20,25,30,40,50}'::numeric[], u.r_desc)
                   + CASE WHEN s.evento = 'Black Friday' THEN 10 ELSE 0 END AS desconto
          FROM uniq u JOIN demo_slot s USING (k)
         ORDER BY u.g LIMIT n_promo
    )
    SELECT row_number() OVER (ORDER BY w.g),
           format('%s: %s', CASE WHEN w.evento <> '' THEN w.evento
                            ELSE demo.pick('{"Oferta Relâmpago","Queima de Estoque","Ofertas da Semana",Saldão,"Frete Grátis + Desconto"}'::text[], w.r_nome) END,
                  p.nome),
           w.produto_id, w.desconto,
           w.inicio::timestamptz, w.fim::timestamptz,
           -- registered 3 days before it starts, at the latest today 00:00 (determinism)
           least(w.inicio::timestamptz - interval '3 days', d_end::timestamptz)
      FROM w JOIN produtos p ON p.id = w.produto_id
     ORDER BY w.g;

    -- Sales per day: weekday pattern x growth x payday x retail dates, turned
    -- into an id range [lo, hi) per day so the ids follow the days.
    CREATE TEMP TABLE demo_dia ON COMMIT DROP AS
    WITH d AS (
        SELECT i, d0 + i AS dia,
               ('{0.85,1.12,1.08,1.02,0.98,0.95,0.80}'::float8[])[extract(dow FROM d0 + i)::int + 1]
               * (1 + 0.35 * i / 364.0)
               * CASE WHEN extract(day FROM d0 + i) BETWEEN 5 AND 10 THEN 1.12 ELSE 1 END
               * coalesce((SELECT exp(sum(ln(e.fator))) FROM demo_ev e WHERE d0 + i BETWEEN e.ini AND e.fim), 1)
               AS w
          FROM generate_series(0, d_end - d0 - 1) i
    ), c AS (
        SELECT i, dia,
               CASE WHEN i = d_end - d0 - 1 THEN p_sales
                    ELSE round(p_sales * sum(w) OVER (ORDER BY i) / sum(w) OVER ())::bigint END AS hi
          FROM d
    )
    SELECT c.i, c.dia, lag(c.hi, 1, 0::bigint) OVER (ORDER BY c.i) AS lo, c.hi,
           -- products on promotion all day long (promotions run whole days)
           coalesce((SELECT array_agg(pr.produto_id ORDER BY pr.id) FROM promocoes pr
                      WHERE pr.inicio <= c.dia::timestamptz AND pr.fim >= (c.dia + 1)::timestamptz),
                    '{}') AS promo_prods
      FROM c;

    -- Sales. Popular products, stores and customers sell more (power law on
    -- the id); 15 % of the buyers pick a product on promotion that day. The
    -- price is the product's, discounted when a promotion covers the sale.
    INSERT INTO vendas (id, produto_id, loja_id, cliente_id, promocao_id, data_venda,
                        quantidade, preco_unitario, total, updated_at)
    SELECT s.id, s.produto_id, s.loja_id, s.cliente_id, pr.id, s.data_venda, s.qtd,
           round(p.preco * (1 - coalesce(pr.desconto_pct, 0) / 100), 2),
           s.qtd * round(p.preco * (1 - coalesce(pr.desconto_pct, 0) / 100), 2),
           s.data_venda
      FROM (SELECT x.id,
                   CASE WHEN x.r_promo < 0.15 AND cardinality(x.promo_prods) > 0
                        THEN demo.pick(x.promo_prods, x.r_pick)
                        ELSE 1 + floor(n_prod * power(x.r_prod, 2.2))::bigint END AS produto_id,
                   1 + floor(n_loja * power(x.r_loja, 1.8))::bigint AS loja_id,
                   1 + floor(n_cli * power(x.r_cli, 1.3))::bigint AS cliente_id,
                   (x.dia + make_interval(hours => demo.pick(horas, x.r_hora), secs => x.r_seg * 3600))::timestamptz
                       AS data_venda,
                   1 + floor(power(x.r_qtd, 8) * 5)::int AS qtd
              FROM (SELECT dd.lo + g AS id, dd.dia, dd.promo_prods,
                           random() AS r_promo, random() AS r_pick, random() AS r_prod,
                           random() AS r_loja, random() AS r_cli, random() AS r_hora,
                           random() AS r_seg, random() AS r_qtd
                      FROM demo_dia dd, generate_series(1, dd.hi - dd.lo) g) x
           ) s
      JOIN produtos p ON p.id = s.produto_id
      LEFT JOIN promocoes pr ON pr.produto_id = s.produto_id
                            AND s.data_venda >= pr.inicio AND s.data_venda < pr.fim;

    PERFORM demo.vendas_constraints(true);

    -- Identities continue after the generated ids.
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), coalesce(max(id), 0) + 1, false) FROM %I',
                       t, t);
    END LOOP;

    IF tracked THEN
        FOREACH t IN ARRAY tables LOOP
            IF EXISTS (SELECT FROM ct.tracked_tables WHERE table_name = t) THEN
                PERFORM ct.set_tracking(t, true);
            END IF;
        END LOOP;
    END IF;

    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('ANALYZE %I', t);
    END LOOP;
END $$;

-- The invariants listed at the top, with how many rows break each. Prices
-- hold right after demo.generate only: demo.apply_changes moves product
-- prices, and past sales keep the price they were sold at.
CREATE OR REPLACE FUNCTION demo.check_data() RETURNS TABLE (invariant text, violations bigint)
LANGUAGE sql STABLE AS $$
    WITH s AS (
        SELECT count(*) FILTER (WHERE v.total <> v.quantidade * v.preco_unitario) AS total,
               count(*) FILTER (WHERE v.promocao_id IS NOT NULL
                                  AND (pr.produto_id <> v.produto_id
                                       OR NOT (v.data_venda >= pr.inicio AND v.data_venda < pr.fim))) AS promo_window,
               count(*) FILTER (WHERE v.preco_unitario
                                      <> round(p.preco * (1 - coalesce(pr.desconto_pct, 0) / 100), 2)) AS price,
               count(*) FILTER (WHERE v.data_venda < p.criado_em OR v.data_venda < l.criado_em
                                   OR v.data_venda < c.criado_em) AS before_created,
               count(*) FILTER (WHERE v.data_venda > now() OR v.updated_at > now()) AS future
          FROM vendas v
          JOIN produtos p ON p.id = v.produto_id
          JOIN lojas l ON l.id = v.loja_id
          JOIN clientes c ON c.id = v.cliente_id
          LEFT JOIN promocoes pr ON pr.id = v.promocao_id
    )
    SELECT c.* FROM s, LATERAL (VALUES
        ('total = quantidade * preco_unitario', s.total),
        ('promocao_id: a promotion of the product covering data_venda', s.promo_window),
        ('preco_unitario = preco discounted by the promotion', s.price),
        ('sold after product, store and customer were created', s.before_created),
        ('nothing in the future', s.future),
        ('a sale inside a promotion window has its promocao_id',
         (SELECT count(*) FROM vendas v JOIN promocoes pr ON pr.produto_id = v.produto_id
                 AND v.data_venda >= pr.inicio AND v.data_venda < pr.fim
           WHERE v.promocao_id IS DISTINCT FROM pr.id)),
        ('promotions of one product do not overlap',
         (SELECT count(*) FROM promocoes a JOIN promocoes b ON a.produto_id = b.produto_id
                 AND a.id < b.id AND a.inicio < b.fim AND b.inicio < a.fim))
    ) AS c(invariant, violations);
$$;
