-- Every shopper with an order (by as_of_date) has exactly one RFM row with a named segment.

with buyers as (

    select distinct user_id from {{ ref('orders') }}
    where order_date <= {{ as_of_date() }}

)

select buyers.user_id
from buyers
left join {{ ref('customer_rfm') }} as rfm on buyers.user_id = rfm.user_id
where rfm.rfm_segment is null
