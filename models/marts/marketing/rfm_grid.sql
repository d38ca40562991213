{#-
    The RFM grid for the heatmap: one row per cell of the seed grid (r_score 1-5 x fm_score
    1-5) with its named segment, the buyers in it and their revenue (customer_rfm counted once,
    here). Empty cells are kept with 0 buyers so the grid is always complete.
-#}

with rfm as (

    select r_score, fm_score, monetary from {{ ref('customer_rfm') }}

),

grid as (

    select r_score, fm_score, rfm_segment from {{ ref('rfm_segments') }}

),

cells as (

    select r_score, fm_score, count(*) as customer_count, sum(monetary) as revenue
    from rfm
    group by all

),

final as (

    select
        grid.r_score,
        grid.fm_score,
        grid.rfm_segment,
        coalesce(cells.customer_count, 0) as customer_count,
        coalesce(cells.revenue, 0) as revenue,
        coalesce(cells.customer_count, 0) / nullif(sum(coalesce(cells.customer_count, 0)) over (), 0) as customer_share
    from grid
    left join cells on grid.r_score = cells.r_score and grid.fm_score = cells.fm_score

)

select * from final
